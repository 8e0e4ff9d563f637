package io.virga.core;

/** An action asked of an instance whose vm_state/task_state does not allow it (HTTP 409). */
public class InvalidStateException extends ConflictException {
  private static final long serialVersionUID = 1L;

  public InvalidStateException(String message) {
    super(message);
  }

  /** Nova's wording, which clients and operators recognise. */
  public static InvalidStateException of(
      InstanceAction action, String uuid, String attr, String state) {
    return new InvalidStateException(
        "Cannot '"
            + action.apiName()
            + "' instance "
            + uuid
            + " while it is in "
            + attr
            + " "
            + state);
  }
}
