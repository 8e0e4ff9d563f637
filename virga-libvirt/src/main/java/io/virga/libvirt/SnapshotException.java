package io.virga.libvirt;

import io.virga.core.VirgaException;

/** A snapshot step failed; the message names the step and the instance's domain. */
class SnapshotException extends VirgaException {
  private static final long serialVersionUID = 1L;

  SnapshotException(String message) {
    super(message);
  }

  SnapshotException(String message, Throwable cause) {
    super(message, cause);
  }
}
