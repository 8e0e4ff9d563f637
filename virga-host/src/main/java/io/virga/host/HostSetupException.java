package io.virga.host;

import io.virga.core.VirgaException;

/** Host setup or the tiny-guest build failed; the message says what to do about it. */
public final class HostSetupException extends VirgaException {
  public HostSetupException(String message) {
    super(message);
  }

  public HostSetupException(String message, Throwable cause) {
    super(message, cause);
  }
}
