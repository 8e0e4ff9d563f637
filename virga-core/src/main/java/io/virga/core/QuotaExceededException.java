package io.virga.core;

/** A project quota would be exceeded. */
public class QuotaExceededException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public QuotaExceededException(String message) {
    super(message);
  }

  public QuotaExceededException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 403;
  }
}
