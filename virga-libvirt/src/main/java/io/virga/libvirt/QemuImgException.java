package io.virga.libvirt;

import io.virga.core.VirgaException;

/** A qemu-img run that failed; the message carries the tool's stderr. */
class QemuImgException extends VirgaException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;
  private final String stderr;

  QemuImgException(String message, Throwable cause) {
    super(message, cause);
    this.exitCode = -1;
    this.stderr = "";
  }

  QemuImgException(String message, int exitCode, String stderr) {
    super(message);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }

  /** The tool's exit code, or -1 when it did not run to completion. */
  public int exitCode() {
    return exitCode;
  }

  public String stderr() {
    return stderr;
  }
}
