package io.virga.core;

/** The caller is authenticated but policy forbids the action. */
public class ForbiddenException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public ForbiddenException(String message) {
    super(message);
  }

  public ForbiddenException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 403;
  }
}
