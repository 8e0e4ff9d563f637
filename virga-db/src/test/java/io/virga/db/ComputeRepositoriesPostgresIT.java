package io.virga.db;

import io.virga.core.Config;
import io.virga.testing.PerClassFixture;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The compute repositories' tests (CAS, concurrent claims …) on a real PostgreSQL. */
class ComputeRepositoriesPostgresIT {
  @RegisterExtension
  static final PerClassFixture<PostgresFixture> server = PostgresFixture.perClass();

  @Nested
  class Compute extends ComputeRepositoriesContract {
    @Override
    Config config(Path home) {
      return server.get().freshConfig(home, Map.of());
    }
  }
}
