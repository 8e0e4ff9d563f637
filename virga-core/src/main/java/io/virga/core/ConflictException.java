package io.virga.core;

/** A request that conflicts with the current state of a resource. */
public class ConflictException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public ConflictException(String message) {
    super(message);
  }

  public ConflictException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 409;
  }
}
