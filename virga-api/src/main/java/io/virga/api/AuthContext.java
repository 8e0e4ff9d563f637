package io.virga.api;

import io.javalin.http.Context;
import io.virga.core.UnauthorizedException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Who is calling: set by ApiServer's auth filter from a valid {@code X-Auth-Token} before any
 * non-public handler runs. {@link #of(Context)} in a handler never returns an unscoped context:
 * only identity routes accept tokens without a project.
 */
public record AuthContext(
    String userId,
    String userName,
    String domainId,
    Optional<String> projectId,
    Optional<String> projectName,
    List<String> roles,
    Instant issuedAt,
    Instant expiresAt) {

  static final String ATTR = "virga.auth";

  public AuthContext {
    roles = List.copyOf(roles);
  }

  public boolean isAdmin() {
    return roles.contains("admin");
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  /** The project the token is scoped to (every non-identity request has one). */
  public String project() {
    return projectId.orElseThrow(
        () -> new UnauthorizedException("The token is not scoped to a project"));
  }

  /** The caller of this request; 401 when the route was not behind the auth filter. */
  public static AuthContext of(Context ctx) {
    AuthContext auth = ctx.attribute(ATTR);
    if (auth == null) {
      throw new UnauthorizedException("The request you have made requires authentication.");
    }
    return auth;
  }

  public static Optional<AuthContext> find(Context ctx) {
    return Optional.ofNullable(ctx.attribute(ATTR));
  }
}
