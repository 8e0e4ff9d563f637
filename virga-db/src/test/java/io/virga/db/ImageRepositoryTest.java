package io.virga.db;

import io.virga.core.Config;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

class ImageRepositoryTest extends ImageRepositoryContract {
  @TempDir Path home;
  private Database db;

  @BeforeEach
  void open() {
    db = Database.open(Config.of(Map.of("home", home.toString())));
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Override
  Database db() {
    return db;
  }
}
