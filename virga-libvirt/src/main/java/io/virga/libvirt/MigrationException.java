package io.virga.libvirt;

/**
 * A migration step that failed after the steps before it were undone: a {@link SpawnException} (a
 * driver flow that failed at a named step, Nova's name) of its own type.
 */
public class MigrationException extends SpawnException {
  private static final long serialVersionUID = 1L;

  public MigrationException(String uuid, String step, Throwable cause) {
    super(uuid, step, cause);
  }
}
