package io.virga.db;

import io.virga.core.Config;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh database per test; subclasses say which engine ({@link #config}). */
abstract class DatabaseContract {
  @TempDir Path home;
  private Database db;
  private Config config;

  abstract Config config(Path home);

  @BeforeEach
  void openDatabase() {
    config = config(home);
    db = Database.open(config);
  }

  /** The configuration {@link #db} was opened with (a second process opens the same). */
  Config openedWith() {
    return config;
  }

  @AfterEach
  void closeDatabase() {
    db.close();
  }

  Database db() {
    return db;
  }
}
