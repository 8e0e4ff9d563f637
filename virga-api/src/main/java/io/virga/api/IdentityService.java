package io.virga.api;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import io.virga.core.UnauthorizedException;
import io.virga.db.Database;
import io.virga.db.IdentityRepository;
import io.virga.db.IdentityRepository.Project;
import io.virga.db.IdentityRepository.Role;
import io.virga.db.IdentityRepository.User;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keystone's job, reduced to what Virga needs: users with bcrypt password hashes, projects in the
 * one domain {@code default} ("Default"), roles admin/member/reader, and expiring bearer tokens
 * (random 256-bit ids; only their SHA-256 is stored). {@link #bootstrap} is what {@code virga up}
 * calls to create the admin and demo accounts idempotently.
 *
 * <p>Configuration: {@code token_expiration} (seconds, default 3600), {@code password_hash_cost}
 * (bcrypt cost, default 10; each login costs 2^cost rounds), {@code max_password_length} (4096, see
 * {@link Passwords}).
 */
public final class IdentityService {
  private static final Logger LOG = LoggerFactory.getLogger(IdentityService.class);
  public static final String DEFAULT_DOMAIN_ID = "default";
  public static final String DEFAULT_DOMAIN_NAME = "Default";
  public static final List<String> STANDARD_ROLES = List.of("admin", "member", "reader");

  private final IdentityRepository repo;
  private final Duration tokenLifetime;
  private final Passwords passwords;
  private final SecureRandom random = new SecureRandom();
  private final String dummyHash;

  /** A valid token: who, scoped where, with which roles; {@code id} only right after issue. */
  public record Token(
      String id,
      User user,
      Optional<Project> project,
      List<Role> roles,
      List<String> methods,
      String auditId,
      Instant issuedAt,
      Instant expiresAt) {

    public AuthContext auth() {
      return new AuthContext(
          user.id(),
          user.name(),
          user.domainId(),
          project.map(Project::id),
          project.map(Project::name),
          roles.stream().map(Role::name).toList(),
          issuedAt,
          expiresAt);
    }
  }

  /** Ids of what {@link #bootstrap} ensured. */
  public record Bootstrap(
      String adminUserId, String adminProjectId, String demoUserId, String demoProjectId) {}

  public IdentityService(Database db, Config config) {
    this.repo = new IdentityRepository(db);
    this.tokenLifetime = config.seconds("token_expiration", 3600);
    this.passwords = new Passwords(config);
    this.dummyHash = hashPassword(UUID.randomUUID().toString());
  }

  public IdentityRepository repository() {
    return repo;
  }

  // ---- authentication

  /** A password scope: user by id, or by name in a domain (given by id or name). */
  public record UserRef(Optional<String> id, Optional<String> name, Optional<String> domain) {}

  public record ProjectRef(Optional<String> id, Optional<String> name, Optional<String> domain) {}

  /**
   * Checks the password and issues a token scoped to the project (or to the user's default project
   * when none is asked for, or unscoped). Every failure is the same 401, so callers cannot probe
   * which users exist.
   */
  public Token authenticate(UserRef userRef, String password, Optional<ProjectRef> scope) {
    Optional<User> user =
        userRef.id().isPresent()
            ? repo.findUser(userRef.id().get())
            : userRef
                .name()
                .flatMap(n -> domainId(userRef.domain()).flatMap(d -> repo.findUserByName(d, n)));
    // verify against a dummy hash for unknown users too: the answer time does not tell who exists
    String hash = user.map(User::passwordHash).orElse(dummyHash);
    boolean verified = passwords.verify(password, hash);
    if (user.isEmpty() || !user.get().enabled() || !verified) {
      LOG.info("authentication failed for user {}", userRef.id().or(userRef::name).orElse("?"));
      throw new UnauthorizedException("The request you have made requires authentication.");
    }
    Optional<Project> project;
    if (scope.isPresent()) {
      ProjectRef p = scope.get();
      project =
          p.id().isPresent()
              ? repo.findProject(p.id().get())
              : p.name()
                  .flatMap(n -> domainId(p.domain()).flatMap(d -> repo.findProjectByName(d, n)));
      if (project.isEmpty()) {
        throw new UnauthorizedException(
            "The project you asked for does not exist or is not yours.");
      }
    } else {
      project = user.get().defaultProjectId().flatMap(repo::findProject);
    }
    return issue(user.get(), project, List.of("password"));
  }

  private static Optional<String> domainId(Optional<String> idOrName) {
    // one domain: accept its id ("default") or its name ("Default"); absent means the default
    String d = idOrName.orElse(DEFAULT_DOMAIN_ID);
    return d.equalsIgnoreCase(DEFAULT_DOMAIN_ID)
        ? Optional.of(DEFAULT_DOMAIN_ID)
        : Optional.empty();
  }

  private Token issue(User user, Optional<Project> project, List<String> methods) {
    List<Role> roles = List.of();
    if (project.isPresent()) {
      if (!project.get().enabled()) {
        throw new UnauthorizedException("The project is disabled.");
      }
      roles = repo.rolesOf(user.id(), project.get().id());
      if (roles.isEmpty()) {
        throw new UnauthorizedException(
            "User " + user.id() + " has no access to project " + project.get().id());
      }
    }
    byte[] raw = new byte[32];
    random.nextBytes(raw);
    String id = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    Instant now = Instant.ofEpochMilli(Database.now());
    Instant expires = now.plus(tokenLifetime);
    String auditId =
        Base64.getUrlEncoder().withoutPadding().encodeToString(sha256Bytes(id)).substring(0, 22);
    repo.insertToken(
        new IdentityRepository.Token(
            hash(id),
            user.id(),
            project.map(Project::id),
            auditId,
            methods,
            now.toEpochMilli(),
            expires.toEpochMilli()));
    if (random.nextInt(50) == 0) {
      repo.deleteExpiredTokens(now.minus(Duration.ofDays(1)).toEpochMilli());
    }
    return new Token(id, user, project, roles, methods, auditId, now, expires);
  }

  /**
   * A new token for the user of a valid token, scoped as asked (Keystone's "token" method); the new
   * token expires no later than the old one, so re-scoping never extends a session.
   */
  public Token rescope(String tokenId, Optional<ProjectRef> scope) {
    Token old =
        validate(tokenId)
            .orElseThrow(
                () ->
                    new UnauthorizedException(
                        "The request you have made requires authentication."));
    Optional<Project> project =
        scope.isEmpty()
            ? old.project()
            : scope.get().id().isPresent()
                ? repo.findProject(scope.get().id().get())
                : scope
                    .get()
                    .name()
                    .flatMap(
                        n ->
                            domainId(scope.get().domain())
                                .flatMap(d -> repo.findProjectByName(d, n)));
    if (scope.isPresent() && project.isEmpty()) {
      throw new UnauthorizedException("The project you asked for does not exist or is not yours.");
    }
    List<String> methods = new java.util.ArrayList<>(old.methods());
    if (!methods.contains("token")) {
      methods.add("token");
    }
    Token fresh = issue(old.user(), project, methods);
    if (fresh.expiresAt().isAfter(old.expiresAt())) {
      repo.deleteToken(hash(fresh.id()));
      repo.insertToken(
          new IdentityRepository.Token(
              hash(fresh.id()),
              fresh.user().id(),
              fresh.project().map(Project::id),
              fresh.auditId(),
              methods,
              fresh.issuedAt().toEpochMilli(),
              old.expiresAt().toEpochMilli()));
      return new Token(
          fresh.id(),
          fresh.user(),
          fresh.project(),
          fresh.roles(),
          methods,
          fresh.auditId(),
          fresh.issuedAt(),
          old.expiresAt());
    }
    return fresh;
  }

  /** The token if it exists, has not expired, and its user and project are still enabled. */
  public Optional<Token> validate(String tokenId) {
    if (tokenId == null || tokenId.isBlank() || tokenId.length() > 512) {
      return Optional.empty();
    }
    Optional<IdentityRepository.Token> row = repo.findToken(hash(tokenId));
    if (row.isEmpty() || row.get().expiresAt() <= Database.now()) {
      return Optional.empty();
    }
    IdentityRepository.Token t = row.get();
    Optional<User> user = repo.findUser(t.userId()).filter(User::enabled);
    if (user.isEmpty()) {
      return Optional.empty();
    }
    Optional<Project> project = t.projectId().flatMap(repo::findProject);
    if (t.projectId().isPresent() && project.filter(Project::enabled).isEmpty()) {
      return Optional.empty();
    }
    List<Role> roles = project.map(p -> repo.rolesOf(t.userId(), p.id())).orElse(List.of());
    if (project.isPresent() && roles.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new Token(
            tokenId,
            user.get(),
            project,
            roles,
            t.methods(),
            t.auditId(),
            Instant.ofEpochMilli(t.issuedAt()),
            Instant.ofEpochMilli(t.expiresAt())));
  }

  public boolean revoke(String tokenId) {
    return repo.deleteToken(hash(tokenId));
  }

  // ---- administration (bootstrap)

  /** Creates the project if missing; returns it. */
  public Project ensureProject(String name, String description) {
    return repo.findProjectByName(DEFAULT_DOMAIN_ID, name)
        .orElseGet(
            () -> {
              Project p =
                  new Project(newId(), name, DEFAULT_DOMAIN_ID, description, true, Database.now());
              repo.createProject(p);
              LOG.info("created project {} ({})", name, p.id());
              return p;
            });
  }

  public Role ensureRole(String name) {
    return repo.findRoleByName(name)
        .orElseGet(
            () -> {
              Role r = new Role(newId(), name);
              repo.createRole(r);
              return r;
            });
  }

  /**
   * Creates the user if missing, or sets its password when it differs (so a changed password in the
   * environment takes effect on the next start). The password is never logged.
   */
  public User ensureUser(String name, String password, Optional<String> defaultProjectId) {
    if (password.isEmpty()) {
      throw new InvalidInputException("a password must not be empty");
    }
    Optional<User> existing = repo.findUserByName(DEFAULT_DOMAIN_ID, name);
    if (existing.isPresent()) {
      User u = existing.get();
      if (!passwords.verify(password, u.passwordHash())) {
        repo.updatePasswordHash(u.id(), hashPassword(password));
        LOG.info("updated the password of user {}", name);
      }
      return u;
    }
    User u =
        new User(
            newId(),
            name,
            DEFAULT_DOMAIN_ID,
            hashPassword(password),
            true,
            defaultProjectId,
            Database.now());
    repo.createUser(u);
    LOG.info("created user {} ({})", name, u.id());
    return u;
  }

  public void grant(String userId, String projectId, String roleName) {
    repo.assignRole(userId, projectId, ensureRole(roleName).id());
  }

  /**
   * Ensures the standard roles, project+user {@code admin} (role admin) and project+user {@code
   * demo} (roles member and reader). Idempotent.
   */
  public Bootstrap bootstrap(String adminPassword, String demoPassword) {
    STANDARD_ROLES.forEach(this::ensureRole);
    Project adminProject = ensureProject("admin", "Bootstrap project for the cloud administrator");
    User admin = ensureUser("admin", adminPassword, Optional.of(adminProject.id()));
    grant(admin.id(), adminProject.id(), "admin");
    grant(admin.id(), adminProject.id(), "member");
    grant(admin.id(), adminProject.id(), "reader");
    Project demoProject = ensureProject("demo", "Demo project for an ordinary user");
    User demo = ensureUser("demo", demoPassword, Optional.of(demoProject.id()));
    grant(demo.id(), demoProject.id(), "member");
    grant(demo.id(), demoProject.id(), "reader");
    return new Bootstrap(admin.id(), adminProject.id(), demo.id(), demoProject.id());
  }

  String hashPassword(String password) {
    return passwords.hash(password);
  }

  Passwords passwords() {
    return passwords;
  }

  /** A hash no password matches, so unknown users cost as much to check as known ones. */
  String dummyHash() {
    return dummyHash;
  }

  private static String newId() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  static String hash(String tokenId) {
    return HexFormat.of().formatHex(sha256Bytes(tokenId));
  }

  private static byte[] sha256Bytes(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
