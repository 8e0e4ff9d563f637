package io.virga.server;

import io.virga.core.Config;
import io.virga.db.PostgresFixture;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;

/** The CLI suite with PostgreSQL (a throw-away server from the Debian package) as the database. */
class VirgaUpCliPostgresIT extends VirgaUpCliSuite {
  private PostgresFixture pg;
  private String url;

  private String url() {
    if (pg == null) {
      pg = PostgresFixture.start();
      url = pg.jdbcUrl(pg.createDatabase());
    }
    return url;
  }

  @Override
  Map<String, String> databaseEnv() {
    return Map.of(
        "VIRGA_DATABASE_URL",
        url(),
        "VIRGA_DATABASE_USER",
        "postgres",
        "VIRGA_DATABASE_PASSWORD",
        "");
  }

  @Override
  Config databaseConfig(Path home) {
    return Config.of(
        Map.of(
            "home",
            home.toString(),
            "database_url",
            url(),
            "database_user",
            "postgres",
            "database_password",
            ""));
  }

  @AfterAll
  void stopPostgres() {
    if (pg != null) {
      pg.close();
    }
  }
}
