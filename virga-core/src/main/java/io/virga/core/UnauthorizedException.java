package io.virga.core;

/** No valid credentials or token. */
public class UnauthorizedException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public UnauthorizedException(String message) {
    super(message);
  }

  public UnauthorizedException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 401;
  }
}
