package io.virga.api;

import io.virga.core.ForbiddenException;

/**
 * Virga's policy, in one place. Roles: {@code admin} (everything, every project), {@code member}
 * (read and write within its project), {@code reader} (read-only within its project).
 */
public final class Policy {
  private Policy() {}

  public static void requireAdmin(AuthContext auth, String action) {
    if (!auth.isAdmin()) {
      throw new ForbiddenException("Policy doesn't allow " + action + " to be performed.");
    }
  }

  /** Whether the caller may change things (create, update, delete, actions). */
  public static boolean mayWrite(AuthContext auth) {
    return auth.isAdmin() || auth.hasRole("member");
  }

  static void requireWriteAccess(AuthContext auth, String method, String path) {
    if (!mayWrite(auth)) {
      throw new ForbiddenException(
          "Policy doesn't allow " + method + " " + path + " with only the reader role.");
    }
  }

  /** Whether the caller may see or act on a resource owned by {@code ownerProject}. */
  public static boolean mayAccess(AuthContext auth, String ownerProject) {
    return auth.isAdmin() || auth.projectId().map(p -> p.equals(ownerProject)).orElse(false);
  }
}
