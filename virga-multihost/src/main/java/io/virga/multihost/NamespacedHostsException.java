package io.virga.multihost;

import io.virga.core.VirgaException;

/** A namespaced host could not be set up, started or reached. */
public final class NamespacedHostsException extends VirgaException {
  private static final long serialVersionUID = 1L;

  public NamespacedHostsException(String message) {
    super(message);
  }

  public NamespacedHostsException(String message, Throwable cause) {
    super(message, cause);
  }
}
