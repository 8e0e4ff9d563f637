package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.core.Config;
import io.virga.testing.PerClassFixture;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The same migrations and repository tests as the SQLite unit tests, on a real PostgreSQL. */
class PostgresDatabaseIT {
  @RegisterExtension
  static final PerClassFixture<PostgresFixture> server = PostgresFixture.perClass();

  @Test
  void opensPostgresAndMigrates() {
    try (Database db = Database.open(server.get().freshConfig(Path.of("/nonexistent"), Map.of()))) {
      assertThat(db.kind()).isEqualTo(Database.Kind.POSTGRESQL);
      assertThat(db.ping()).isTrue();
      int tables =
          db.withHandle(
              h ->
                  h.createQuery(
                          "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN"
                              + " ('projects','users','roles','role_assignments','tokens','images',"
                              + "'image_properties','image_tags')")
                      .mapTo(Integer.class)
                      .one());
      assertThat(tables).isEqualTo(8);
    }
  }

  @Nested
  class Identity extends IdentityRepositoryContract {
    @Override
    Config config(Path home) {
      return server.get().freshConfig(home, Map.of());
    }
  }

  @Nested
  class Images extends ImageRepositoryContract {
    @Override
    Config config(Path home) {
      return server.get().freshConfig(home, Map.of());
    }
  }
}
