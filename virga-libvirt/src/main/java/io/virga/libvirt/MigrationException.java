package io.virga.libvirt;

import io.virga.core.VirgaException;

/**
 * A migration step that failed after the steps before it were undone. The message names the
 * instance and the step as Nova names it; the status is the cause's when it is a Virga error.
 */
public class MigrationException extends VirgaException {
  private static final long serialVersionUID = 1L;
  private final String step;

  public MigrationException(String uuid, String step, Throwable cause) {
    super("instance " + uuid + ": " + step + " failed: " + cause.getMessage(), cause);
    this.step = step;
  }

  public String step() {
    return step;
  }

  @Override
  public int httpStatus() {
    return getCause() instanceof VirgaException v ? v.httpStatus() : 500;
  }
}
