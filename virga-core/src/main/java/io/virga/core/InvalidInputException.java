package io.virga.core;

/** A request that is malformed or asks for something impossible; the message says what to fix. */
public class InvalidInputException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }

  public InvalidInputException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 400;
  }
}
