package io.virga.core;

/** A request body or upload larger than the configured limit (HTTP 413). */
public class PayloadTooLargeException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public PayloadTooLargeException(String message) {
    super(message);
  }

  @Override
  public int httpStatus() {
    return 413;
  }
}
