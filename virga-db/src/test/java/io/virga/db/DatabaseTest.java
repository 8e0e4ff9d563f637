package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.virga.core.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatabaseTest {
  @TempDir Path home;

  @Test
  void sqliteIsOneWalFileInVirgaHomeWithForeignKeysOn() {
    try (Database db = Database.open(Config.of(Map.of("home", home.toString())))) {
      assertThat(db.kind()).isEqualTo(Database.Kind.SQLITE);
      assertThat(Files.exists(home.resolve("virga.db"))).isTrue();
      String mode =
          db.withHandle(h -> h.createQuery("PRAGMA journal_mode").mapTo(String.class).one());
      assertThat(mode).isEqualToIgnoringCase("wal");
      int fk = db.withHandle(h -> h.createQuery("PRAGMA foreign_keys").mapTo(Integer.class).one());
      assertThat(fk).isEqualTo(1);
      assertThat(db.ping()).isTrue();
    }
  }

  @Test
  void migrationsAreAppliedOnceAndReopeningKeepsData() {
    Config config = Config.of(Map.of("home", home.toString()));
    try (Database db = Database.open(config)) {
      new IdentityRepository(db).createRole(new IdentityRepository.Role("r1", "admin"));
    }
    try (Database db = Database.open(config)) {
      assertThat(new IdentityRepository(db).findRoleByName("admin")).isPresent();
      int applied =
          db.withHandle(
              h ->
                  h.createQuery("SELECT COUNT(*) FROM flyway_schema_history WHERE success")
                      .mapTo(Integer.class)
                      .one());
      assertThat(applied).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void unknownUrlSchemeIsRefusedWithAHint() {
    assertThatThrownBy(() -> Database.open(Config.of(Map.of("database_url", "jdbc:mysql://x/y"))))
        .hasMessageContaining("database_url must be");
  }

  @Test
  void concurrentReadThenWriteTransactionsQueueInsteadOfFailingBusy() throws Exception {
    try (Database db = Database.open(Config.of(Map.of("home", home.toString())))) {
      db.useTransaction(h -> h.execute("CREATE TABLE counter (n INTEGER NOT NULL)"));
      db.useTransaction(h -> h.execute("INSERT INTO counter (n) VALUES (0)"));
      int threads = 8;
      int rounds = 40;
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(threads);
      java.util.List<java.util.concurrent.Future<?>> futures = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < rounds; i++) {
                    db.useTransaction(
                        h -> {
                          int n = h.createQuery("SELECT n FROM counter").mapTo(Integer.class).one();
                          h.createUpdate("UPDATE counter SET n = :n").bind("n", n + 1).execute();
                        });
                  }
                }));
      }
      for (java.util.concurrent.Future<?> f : futures) {
        f.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
      pool.shutdown();
      int n = db.withHandle(h -> h.createQuery("SELECT n FROM counter").mapTo(Integer.class).one());
      assertThat(n).isEqualTo(threads * rounds); // no lost update, no SQLITE_BUSY
    }
  }
}
