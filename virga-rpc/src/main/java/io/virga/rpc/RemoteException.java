package io.virga.rpc;

import io.virga.core.VirgaException;

/**
 * An error raised on the far side of an RPC call whose type cannot be recreated here (not a {@link
 * VirgaException} subclass known locally): keeps the remote type name and HTTP status.
 */
public class RemoteException extends VirgaException {
  private static final long serialVersionUID = 1L;
  private final String remoteType;
  private final int status;

  public RemoteException(String remoteType, String message, int status) {
    super(remoteType + ": " + message);
    this.remoteType = remoteType;
    this.status = status;
  }

  /** The class name of the exception thrown remotely. */
  public String remoteType() {
    return remoteType;
  }

  @Override
  public int httpStatus() {
    return status;
  }
}
