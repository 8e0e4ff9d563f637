package io.virga.compute;

import io.virga.core.ConflictException;

/** A task-state compare-and-swap lost: someone else (an API delete, another action) moved first. */
final class UnexpectedTaskStateException extends ConflictException {
  private static final long serialVersionUID = 1L;

  UnexpectedTaskStateException(String message) {
    super(message);
  }
}
