package io.virga.db;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/** The compute repositories' tests (CAS, concurrent claims …) on a real PostgreSQL. */
class ComputeRepositoriesPostgresIT {
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
  class Compute extends ComputeRepositoriesContract {
    @Override
    Config config(Path home) {
      return pg.freshConfig(home, Map.of());
    }
  }
}
