package io.virga.core;

/** An operation this build does not implement yet. */
public class NotImplementedException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public NotImplementedException(String message) {
    super(message);
  }

  public NotImplementedException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 501;
  }
}
