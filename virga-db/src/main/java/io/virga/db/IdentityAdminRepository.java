package io.virga.db;

import java.util.List;
import java.util.Optional;

/**
 * The writes of Keystone's administration API: project and user updates and deletes, role
 * assignments, and what a project still owns. Every method is one short transaction; rows are the
 * records of {@link IdentityRepository}.
 */
public final class IdentityAdminRepository {
  private final Database db;

  public IdentityAdminRepository(Database db) {
    this.db = db;
  }

  /** A role assignment: user, project, role. */
  public record Assignment(String userId, String projectId, String roleId) {}

  /** The optional attributes of a user that tokens never need. */
  public record UserDetails(Optional<String> description, Optional<String> email) {}

  /** What a project still owns: live servers and images (any status). */
  public record Owned(int servers, int images) {
    public boolean any() {
      return servers > 0 || images > 0;
    }
  }

  public void updateProject(IdentityRepository.Project p) {
    db.useTransaction(
        h ->
            h.createUpdate(
                    "UPDATE projects SET name = :name, description = :description,"
                        + " enabled = :enabled WHERE id = :id")
                .bindMethods(p)
                .execute());
  }

  /**
   * Deletes the project unless it owns servers or images, checked in the same transaction; its role
   * assignments and tokens go with it (ON DELETE CASCADE). Returns what it still owns (nothing when
   * the project was deleted).
   */
  public Owned deleteProjectIfEmpty(String projectId) {
    return db.inTransaction(
        h -> {
          int servers =
              h.createQuery("SELECT COUNT(*) FROM instances WHERE project_id = :p AND deleted = :f")
                  .bind("p", projectId)
                  .bind("f", false)
                  .mapTo(Integer.class)
                  .one();
          int images =
              h.createQuery("SELECT COUNT(*) FROM images WHERE owner = :p")
                  .bind("p", projectId)
                  .mapTo(Integer.class)
                  .one();
          Owned owned = new Owned(servers, images);
          if (!owned.any()) {
            h.createUpdate(
                    "UPDATE users SET default_project_id = NULL WHERE default_project_id = :p")
                .bind("p", projectId)
                .execute();
            h.createUpdate("DELETE FROM tokens WHERE project_id = :p")
                .bind("p", projectId)
                .execute();
            h.createUpdate("DELETE FROM role_assignments WHERE project_id = :p")
                .bind("p", projectId)
                .execute();
            h.createUpdate("DELETE FROM image_members WHERE member_id = :p")
                .bind("p", projectId)
                .execute();
            h.createUpdate("DELETE FROM projects WHERE id = :p").bind("p", projectId).execute();
          }
          return owned;
        });
  }

  public void createUserDetails(String userId, UserDetails d) {
    updateUserDetails(userId, d);
  }

  public UserDetails userDetails(String userId) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT description, email FROM users WHERE id = :id")
                .bind("id", userId)
                .map(
                    (rs, ctx) ->
                        new UserDetails(
                            Optional.ofNullable(rs.getString("description")),
                            Optional.ofNullable(rs.getString("email"))))
                .findOne()
                .orElse(new UserDetails(Optional.empty(), Optional.empty())));
  }

  public void updateUserDetails(String userId, UserDetails d) {
    db.useTransaction(
        h ->
            h.createUpdate("UPDATE users SET description = :d, email = :e WHERE id = :id")
                .bind("d", d.description().orElse(null))
                .bind("e", d.email().orElse(null))
                .bind("id", userId)
                .execute());
  }

  /** Name, enabled flag and default project; a disabled user also loses every token. */
  public void updateUser(IdentityRepository.User u) {
    db.useTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE users SET name = :name, enabled = :enabled, default_project_id = :dp"
                      + " WHERE id = :id")
              .bind("name", u.name())
              .bind("enabled", u.enabled())
              .bind("dp", u.defaultProjectId().orElse(null))
              .bind("id", u.id())
              .execute();
          if (!u.enabled()) {
            h.createUpdate("DELETE FROM tokens WHERE user_id = :u").bind("u", u.id()).execute();
          }
        });
  }

  /** Sets the hash and revokes the user's tokens (Keystone does so on a password change). */
  public void changePassword(String userId, String passwordHash) {
    db.useTransaction(
        h -> {
          h.createUpdate("UPDATE users SET password_hash = :p WHERE id = :id")
              .bind("p", passwordHash)
              .bind("id", userId)
              .execute();
          h.createUpdate("DELETE FROM tokens WHERE user_id = :u").bind("u", userId).execute();
        });
  }

  public boolean deleteUser(String userId) {
    return db.inTransaction(
        h -> {
          h.createUpdate("DELETE FROM tokens WHERE user_id = :u").bind("u", userId).execute();
          h.createUpdate("DELETE FROM role_assignments WHERE user_id = :u")
              .bind("u", userId)
              .execute();
          return h.createUpdate("DELETE FROM users WHERE id = :u").bind("u", userId).execute() > 0;
        });
  }

  public Optional<IdentityRepository.Role> findRole(String id) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT id, name FROM roles WHERE id = :id")
                .bind("id", id)
                .map(
                    (rs, ctx) ->
                        new IdentityRepository.Role(rs.getString("id"), rs.getString("name")))
                .findOne());
  }

  public boolean deleteRole(String roleId) {
    return db.inTransaction(
        h -> {
          h.createUpdate("DELETE FROM role_assignments WHERE role_id = :r")
              .bind("r", roleId)
              .execute();
          return h.createUpdate("DELETE FROM roles WHERE id = :r").bind("r", roleId).execute() > 0;
        });
  }

  public boolean unassignRole(String userId, String projectId, String roleId) {
    return db.inTransaction(
        h ->
            h.createUpdate(
                        "DELETE FROM role_assignments WHERE user_id = :u AND project_id = :p"
                            + " AND role_id = :r")
                    .bind("u", userId)
                    .bind("p", projectId)
                    .bind("r", roleId)
                    .execute()
                > 0);
  }

  /** Assignments matching the filters that are present, ordered by project, user, role. */
  public List<Assignment> assignments(
      Optional<String> userId, Optional<String> projectId, Optional<String> roleId) {
    // fixed clauses only (no "? IS NULL": PostgreSQL cannot type an untyped null parameter)
    StringBuilder sql =
        new StringBuilder("SELECT user_id, project_id, role_id FROM role_assignments WHERE 1 = 1");
    userId.ifPresent(u -> sql.append(" AND user_id = :u"));
    projectId.ifPresent(p -> sql.append(" AND project_id = :p"));
    roleId.ifPresent(r -> sql.append(" AND role_id = :r"));
    sql.append(" ORDER BY project_id, user_id, role_id");
    return db.withHandle(
        h -> {
          var q = h.createQuery(sql.toString());
          userId.ifPresent(u -> q.bind("u", u));
          projectId.ifPresent(p -> q.bind("p", p));
          roleId.ifPresent(r -> q.bind("r", r));
          return q.map(
                  (rs, ctx) ->
                      new Assignment(
                          rs.getString("user_id"),
                          rs.getString("project_id"),
                          rs.getString("role_id")))
              .list();
        });
  }
}
