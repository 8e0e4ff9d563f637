package io.virga.db;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/** Issue 16's repositories, including concurrent server-group claims, on a real PostgreSQL. */
class LifecycleRepositoriesPostgresIT {
  static PostgresFixture pg;

  @BeforeAll
  static void startServer() {
    pg = PostgresFixture.start();
  }

  @AfterAll
  static void stopServer() {
    if (pg != null) {
      pg.close();
    }
  }

  @Nested
  class Lifecycle extends LifecycleRepositoriesContract {
    @Override
    Config config(Path home) {
      return pg.freshConfig(home, Map.of());
    }
  }
}
