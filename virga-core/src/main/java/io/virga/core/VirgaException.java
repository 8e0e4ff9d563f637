package io.virga.core;

/** Root of Virga's unchecked exceptions; {@link #httpStatus()} is what the API edge answers. */
public class VirgaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public VirgaException(String message) {
    super(message);
  }

  public VirgaException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The HTTP status the API maps this error to (500 only for genuine internal faults). */
  public int httpStatus() {
    return 500;
  }
}
