package io.virga.api;

import io.virga.core.Config;
import io.virga.db.PostgresFixture;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/** The identity and image route suites again, with a real PostgreSQL as the database. */
class ApiOnPostgresIT {
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

  static Config onPostgres(Map<String, String> values) {
    Map<String, String> v = new HashMap<>(values);
    v.put("database_url", pg.jdbcUrl(pg.createDatabase()));
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
