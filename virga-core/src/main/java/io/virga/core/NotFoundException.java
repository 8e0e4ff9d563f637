package io.virga.core;

/** A resource (instance, flavor, image …) that does not exist or that the caller may not see. */
public class NotFoundException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 404;
  }
}
