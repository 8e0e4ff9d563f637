package io.virga.server;

import io.virga.core.Config;
import io.virga.db.PostgresFixture;
import io.virga.testing.PerClassFixture;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The CLI suite with PostgreSQL (a throw-away server from the Debian package) as the database. */
class VirgaUpCliPostgresIT extends VirgaUpCliSuite {
  @RegisterExtension
  static final PerClassFixture<PostgresFixture> server = PostgresFixture.perClass();

  private String url;

  private String url() {
    if (url == null) {
      url = server.get().jdbcUrl(server.get().createDatabase());
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
}
