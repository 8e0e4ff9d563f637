package io.virga.db;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;

class LifecycleRepositoriesTest extends LifecycleRepositoriesContract {
  @Override
  Config config(Path home) {
    return Config.of(Map.of("home", home.toString()));
  }
}
