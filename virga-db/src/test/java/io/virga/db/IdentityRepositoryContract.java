package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The identity repository's behaviour, run against SQLite (unit) and PostgreSQL (IT). */
abstract class IdentityRepositoryContract extends DatabaseContract {

  @Test
  void projectsUsersRolesAndAssignmentsRoundTrip() {
    IdentityRepository repo = new IdentityRepository(db());
    repo.createProject(new IdentityRepository.Project("p1", "demo", "default", "d", true, 5L));
    repo.createUser(
        new IdentityRepository.User(
            "u1", "alice", "default", "$2a$hash", true, Optional.of("p1"), 6L));
    repo.createRole(new IdentityRepository.Role("r1", "member"));
    assertThat(repo.assignRole("u1", "p1", "r1")).isTrue();
    assertThat(repo.assignRole("u1", "p1", "r1")).isFalse();

    assertThat(repo.findProjectByName("default", "demo")).map(p -> p.id()).contains("p1");
    assertThat(repo.findUserByName("default", "alice").orElseThrow().defaultProjectId())
        .contains("p1");
    assertThat(repo.findUserByName("other", "alice")).isEmpty();
    assertThat(repo.rolesOf("u1", "p1"))
        .extracting(IdentityRepository.Role::name)
        .containsExactly("member");
    assertThat(repo.listProjectsOfUser("u1"))
        .extracting(IdentityRepository.Project::id)
        .containsExactly("p1");
    repo.updatePasswordHash("u1", "$2a$new");
    assertThat(repo.findUser("u1").orElseThrow().passwordHash()).isEqualTo("$2a$new");
    assertThat(repo.findUser("u1").orElseThrow().enabled()).isTrue();
  }

  @Test
  void duplicateNamesInADomainAreRefused() {
    IdentityRepository repo = new IdentityRepository(db());
    repo.createProject(new IdentityRepository.Project("p1", "demo", "default", "", true, 5L));
    assertThatThrownBy(
            () ->
                repo.createProject(
                    new IdentityRepository.Project("p2", "demo", "default", "", true, 5L)))
        .isInstanceOf(RuntimeException.class);
  }

  @Test
  void tokensAreFoundUntilDeletedOrExpired() {
    IdentityRepository repo = new IdentityRepository(db());
    repo.createProject(new IdentityRepository.Project("p1", "demo", "default", "", true, 5L));
    repo.createUser(
        new IdentityRepository.User("u1", "bob", "default", "x", true, Optional.empty(), 6L));
    repo.insertToken(
        new IdentityRepository.Token(
            "h1", "u1", Optional.of("p1"), "a1", List.of("password"), 100L, 200L));
    repo.insertToken(
        new IdentityRepository.Token(
            "h2", "u1", Optional.empty(), "a2", List.of("password", "token"), 100L, 900L));
    assertThat(repo.findToken("h1").orElseThrow().projectId()).contains("p1");
    assertThat(repo.findToken("h2").orElseThrow().methods()).containsExactly("password", "token");
    assertThat(repo.deleteExpiredTokens(500L)).isEqualTo(1);
    assertThat(repo.findToken("h1")).isEmpty();
    assertThat(repo.deleteToken("h2")).isTrue();
    assertThat(repo.findToken("h2")).isEmpty();
  }
}
