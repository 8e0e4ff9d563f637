package io.virga.core;

/**
 * An image refused by the format inspector (DESIGN §5): wrong declared format, backing file,
 * external data file, unsafe VMDK extent, QED, truncated header.
 */
public class ImageUnsafeException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public ImageUnsafeException(String message) {
    super(message);
  }

  public ImageUnsafeException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public int httpStatus() {
    return 400;
  }
}
