package io.virga.api;

import io.virga.core.Config;
import io.virga.db.PostgresFixture;
import io.virga.testing.PerClassFixture;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The identity and image route suites again, with a real PostgreSQL as the database. */
class ApiOnPostgresIT {
  @RegisterExtension
  static final PerClassFixture<PostgresFixture> server = PostgresFixture.perClass();

  static Config onPostgres(Map<String, String> values) {
    Map<String, String> v = new HashMap<>(values);
    v.put("database_url", server.get().jdbcUrl(server.get().createDatabase()));
    v.put("database_user", "postgres");
    v.put("database_password", "");
    return Config.of(v);
  }

  @Nested
  class Identity extends IdentityRoutesTest {
    @Override
    Config config(Map<String, String> values) {
      return onPostgres(values);
    }
  }

  @Nested
  class IdentityAdmin extends IdentityAdminRoutesTest {
    @Override
    Config config(Map<String, String> values) {
      return onPostgres(values);
    }
  }

  @Nested
  class ImageSharing extends ImageSharingRoutesTest {
    @Override
    Config config(Map<String, String> values) {
      return onPostgres(values);
    }
  }

  @Nested
  class Images extends ImageRoutesTest {
    @Override
    Config config(Map<String, String> values) {
      return onPostgres(values);
    }
  }
}
