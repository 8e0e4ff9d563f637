package io.virga.tinyguest;

import io.virga.core.VirgaException;

/** The tiny guest cannot be built here; the message says what is missing and what to run. */
public class TinyGuestException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public TinyGuestException(String message) {
    super(message);
  }

  public TinyGuestException(String message, Throwable cause) {
    super(message, cause);
  }
}
