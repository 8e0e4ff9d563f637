package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IdentityRepositoryTest extends IdentityRepositoryContract {
  @Override
  Config config(Path home) {
    return Config.of(Map.of("home", home.toString()));
  }

  @Test
  void foreignKeysAreEnforced() {
    IdentityRepository repo = new IdentityRepository(db());
    assertThatThrownBy(() -> repo.assignRole("nouser", "noproject", "norole"))
        .isInstanceOf(RuntimeException.class);
    assertThat(repo.listRoles()).isEmpty();
  }
}
