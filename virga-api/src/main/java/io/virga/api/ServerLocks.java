package io.virga.api;

import io.virga.core.ConflictException;
import io.virga.db.InstanceRecord;

/**
 * Nova's {@code check_instance_lock}: a locked server refuses changes from anyone but an admin
 * (409). Reads and the lock actions themselves are not checked.
 */
final class ServerLocks {
  private ServerLocks() {}

  static void check(AuthContext caller, InstanceRecord r) {
    if (r.locked() && !caller.isAdmin()) {
      throw new ConflictException("Instance " + r.uuid() + " is locked");
    }
  }
}
