package io.virga.server;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;

/** The CLI suite on the embedded default database (SQLite in VIRGA_HOME). */
class VirgaUpCliIT extends VirgaUpCliSuite {
  @Override
  Map<String, String> databaseEnv() {
    return Map.of();
  }

  @Override
  Config databaseConfig(Path home) {
    return Config.of(Map.of("home", home.toString()));
  }
}
