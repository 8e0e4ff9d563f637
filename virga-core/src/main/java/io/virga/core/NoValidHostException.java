package io.virga.core;

/** The scheduler found no host that fits; recorded as the instance fault. */
public class NoValidHostException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public NoValidHostException(String message) {
    super(message);
  }

  public NoValidHostException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 500;
  }
}
