package io.virga.rpc;

import io.virga.core.VirgaException;

/** No reply to an RPC call in time: the agent is down, busy or unreachable (HTTP 504). */
public class RpcTimeoutException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public RpcTimeoutException(String message) {
    super(message);
  }

  @Override
  public int httpStatus() {
    return 504;
  }
}
