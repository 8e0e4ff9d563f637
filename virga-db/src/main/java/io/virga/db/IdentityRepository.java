package io.virga.db;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * Rows of the identity tables: projects, users, roles, role assignments and (hashed) tokens. Every
 * method runs in its own short transaction unless a {@link Handle} is passed.
 */
public final class IdentityRepository {
  private final Database db;

  public IdentityRepository(Database db) {
    this.db = db;
  }

  /** A Keystone project (tenant). */
  public record Project(
      String id,
      String name,
      String domainId,
      String description,
      boolean enabled,
      long createdAt) {}

  /** A user; {@code passwordHash} is a bcrypt hash, never the password. */
  public record User(
      String id,
      String name,
      String domainId,
      String passwordHash,
      boolean enabled,
      Optional<String> defaultProjectId,
      long createdAt) {}

  public record Role(String id, String name) {}

  /** A token as stored: {@code idHash} is the SHA-256 hex of the token id handed to the client. */
  public record Token(
      String idHash,
      String userId,
      Optional<String> projectId,
      String auditId,
      List<String> methods,
      long issuedAt,
      long expiresAt) {}

  // ---- projects

  public void createProject(Project p) {
    db.useTransaction(
        h ->
            h.createUpdate(
                    "INSERT INTO projects (id, name, domain_id, description, enabled, created_at)"
                        + " VALUES (:id, :name, :domainId, :description, :enabled, :createdAt)")
                .bindMethods(p)
                .execute());
  }

  public Optional<Project> findProject(String id) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM projects WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> project(rs))
                .findOne());
  }

  public Optional<Project> findProjectByName(String domainId, String name) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM projects WHERE domain_id = :d AND name = :n")
                .bind("d", domainId)
                .bind("n", name)
                .map((rs, ctx) -> project(rs))
                .findOne());
  }

  public List<Project> listProjects() {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM projects ORDER BY name")
                .map((rs, ctx) -> project(rs))
                .list());
  }

  /** Projects on which the user holds at least one role. */
  public List<Project> listProjectsOfUser(String userId) {
    return db.withHandle(
        h ->
            h.createQuery(
                    "SELECT DISTINCT p.* FROM projects p JOIN role_assignments a"
                        + " ON a.project_id = p.id WHERE a.user_id = :u ORDER BY p.name")
                .bind("u", userId)
                .map((rs, ctx) -> project(rs))
                .list());
  }

  // ---- users

  public void createUser(User u) {
    db.useTransaction(
        h ->
            h.createUpdate(
                    "INSERT INTO users (id, name, domain_id, password_hash, enabled,"
                        + " default_project_id, created_at) VALUES (:id, :name, :domainId,"
                        + " :passwordHash, :enabled, :defaultProjectId, :createdAt)")
                .bind("id", u.id())
                .bind("name", u.name())
                .bind("domainId", u.domainId())
                .bind("passwordHash", u.passwordHash())
                .bind("enabled", u.enabled())
                .bind("defaultProjectId", u.defaultProjectId().orElse(null))
                .bind("createdAt", u.createdAt())
                .execute());
  }

  public Optional<User> findUser(String id) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM users WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> user(rs))
                .findOne());
  }

  public Optional<User> findUserByName(String domainId, String name) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM users WHERE domain_id = :d AND name = :n")
                .bind("d", domainId)
                .bind("n", name)
                .map((rs, ctx) -> user(rs))
                .findOne());
  }

  public List<User> listUsers() {
    return db.withHandle(
        h -> h.createQuery("SELECT * FROM users ORDER BY name").map((rs, ctx) -> user(rs)).list());
  }

  public void updatePasswordHash(String userId, String passwordHash) {
    db.useTransaction(
        h ->
            h.createUpdate("UPDATE users SET password_hash = :p WHERE id = :id")
                .bind("p", passwordHash)
                .bind("id", userId)
                .execute());
  }

  // ---- roles

  public Optional<Role> findRoleByName(String name) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT id, name FROM roles WHERE name = :n")
                .bind("n", name)
                .map((rs, ctx) -> new Role(rs.getString("id"), rs.getString("name")))
                .findOne());
  }

  public List<Role> listRoles() {
    return db.withHandle(
        h ->
            h.createQuery("SELECT id, name FROM roles ORDER BY name")
                .map((rs, ctx) -> new Role(rs.getString("id"), rs.getString("name")))
                .list());
  }

  public void createRole(Role role) {
    db.useTransaction(
        h ->
            h.createUpdate("INSERT INTO roles (id, name) VALUES (:id, :name)")
                .bindMethods(role)
                .execute());
  }

  /** Grants the role; returns false when the assignment already existed. */
  public boolean assignRole(String userId, String projectId, String roleId) {
    return db.inTransaction(
        h -> {
          boolean exists =
              h.createQuery(
                          "SELECT COUNT(*) FROM role_assignments WHERE user_id = :u AND project_id = :p"
                              + " AND role_id = :r")
                      .bind("u", userId)
                      .bind("p", projectId)
                      .bind("r", roleId)
                      .mapTo(Integer.class)
                      .one()
                  > 0;
          if (!exists) {
            h.createUpdate(
                    "INSERT INTO role_assignments (user_id, project_id, role_id)"
                        + " VALUES (:u, :p, :r)")
                .bind("u", userId)
                .bind("p", projectId)
                .bind("r", roleId)
                .execute();
          }
          return !exists;
        });
  }

  public List<Role> rolesOf(String userId, String projectId) {
    return db.withHandle(
        h ->
            h.createQuery(
                    "SELECT r.id, r.name FROM roles r JOIN role_assignments a ON a.role_id = r.id"
                        + " WHERE a.user_id = :u AND a.project_id = :p ORDER BY r.name")
                .bind("u", userId)
                .bind("p", projectId)
                .map((rs, ctx) -> new Role(rs.getString("id"), rs.getString("name")))
                .list());
  }

  // ---- tokens

  public void insertToken(Token t) {
    db.useTransaction(
        h ->
            h.createUpdate(
                    "INSERT INTO tokens (id_hash, user_id, project_id, audit_id, methods,"
                        + " issued_at, expires_at) VALUES (:h, :u, :p, :a, :m, :i, :e)")
                .bind("h", t.idHash())
                .bind("u", t.userId())
                .bind("p", t.projectId().orElse(null))
                .bind("a", t.auditId())
                .bind("m", String.join(",", t.methods()))
                .bind("i", t.issuedAt())
                .bind("e", t.expiresAt())
                .execute());
  }

  public Optional<Token> findToken(String idHash) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM tokens WHERE id_hash = :h")
                .bind("h", idHash)
                .map(
                    (rs, ctx) ->
                        new Token(
                            rs.getString("id_hash"),
                            rs.getString("user_id"),
                            Optional.ofNullable(rs.getString("project_id")),
                            rs.getString("audit_id"),
                            List.of(rs.getString("methods").split(",")),
                            rs.getLong("issued_at"),
                            rs.getLong("expires_at")))
                .findOne());
  }

  public boolean deleteToken(String idHash) {
    return db.inTransaction(
        h ->
            h.createUpdate("DELETE FROM tokens WHERE id_hash = :h").bind("h", idHash).execute()
                > 0);
  }

  /** Removes tokens that expired before {@code before} (epoch ms); returns how many. */
  public int deleteExpiredTokens(long before) {
    return db.inTransaction(
        h ->
            h.createUpdate("DELETE FROM tokens WHERE expires_at < :t").bind("t", before).execute());
  }

  static Project project(ResultSet rs) throws SQLException {
    return new Project(
        rs.getString("id"),
        rs.getString("name"),
        rs.getString("domain_id"),
        rs.getString("description"),
        rs.getBoolean("enabled"),
        rs.getLong("created_at"));
  }

  static User user(ResultSet rs) throws SQLException {
    return new User(
        rs.getString("id"),
        rs.getString("name"),
        rs.getString("domain_id"),
        rs.getString("password_hash"),
        rs.getBoolean("enabled"),
        Optional.ofNullable(rs.getString("default_project_id")),
        rs.getLong("created_at"));
  }
}
