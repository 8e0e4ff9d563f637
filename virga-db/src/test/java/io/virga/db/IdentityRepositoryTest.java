package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

class IdentityRepositoryTest extends IdentityRepositoryContract {
  @TempDir Path home;
  private Database db;

  @BeforeEach
  void open() {
    db = Database.open(Config.of(Map.of("home", home.toString())));
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Override
  Database db() {
    return db;
  }

  @org.junit.jupiter.api.Test
  void foreignKeysAreEnforced() {
    IdentityRepository repo = new IdentityRepository(db);
    assertThatThrownBy(() -> repo.assignRole("nouser", "noproject", "norole"))
        .isInstanceOf(RuntimeException.class);
    assertThat(repo.listRoles()).isEmpty();
  }
}
