package io.virga.libvirt;

import io.virga.core.VirgaException;

/**
 * A spawn (or another driver flow) that failed at a named step, after its cleanup ran. The status
 * is the cause's when it is a Virga error (a flavor too small for the image stays a 400).
 */
class SpawnException extends VirgaException {
  private static final long serialVersionUID = 1L;
  private final String step;

  public SpawnException(String uuid, String step, Throwable cause) {
    super("instance " + uuid + ": " + step + " failed: " + cause.getMessage(), cause);
    this.step = step;
  }

  /** Nova's name for the failed step ({@code createImage}, {@code createDomainAndNetwork} …). */
  public String step() {
    return step;
  }

  @Override
  public int httpStatus() {
    return getCause() instanceof VirgaException v ? v.httpStatus() : 500;
  }
}
