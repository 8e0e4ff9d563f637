package io.virga.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.virga.core.Config;
import io.virga.core.VirgaException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.HandleConsumer;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * Virga's database: SQLite embedded (default, one file {@code $VIRGA_HOME/virga.db}) or PostgreSQL
 * (when {@code database_url} is set), behind a HikariCP pool, migrated by Flyway from the classpath
 * folder {@code db/migration} on {@link #open}, accessed through JDBI 3.
 *
 * <p>Rules every migration and repository follows so that the same SQL runs on both engines:
 *
 * <ul>
 *   <li>Timestamps are {@code BIGINT} milliseconds since the epoch (UTC), converted to ISO-8601
 *       strings only at the API edge ({@link #now()} gives the current value).
 *   <li>Identifiers are {@code VARCHAR(64)} strings (UUIDs with dashes for resources, 32 hex for
 *       Keystone users/projects); free text is {@code TEXT}; flags are {@code BOOLEAN} bound from
 *       Java booleans (SQLite stores 0/1, {@code rs.getBoolean} reads both); counters {@code
 *       INTEGER}/{@code BIGINT}.
 *   <li>No engine-specific DDL: no {@code SERIAL}/{@code AUTOINCREMENT}, no {@code ON CONFLICT}, no
 *       JSON types; foreign keys with {@code ON DELETE CASCADE} where children die with the parent
 *       (SQLite has {@code foreign_keys=ON} on every connection).
 *   <li>User values are always bound parameters, never concatenated into SQL.
 *   <li>SQLite: WAL, {@code busy_timeout}, and every transaction starts {@code BEGIN IMMEDIATE}, so
 *       a transaction that reads then writes never dies with SQLITE_BUSY on lock upgrade: writers
 *       queue for the single write lock (up to {@code database_busy_timeout_ms}). Do not nest a
 *       transaction on one thread inside another one (it would wait for itself).
 * </ul>
 *
 * <p>Configuration: {@code database_url} (default empty = SQLite in VIRGA_HOME), {@code
 * database_user}, {@code database_password}, {@code database_pool_size} (default 8), {@code
 * database_busy_timeout_ms} (SQLite, default 30000).
 */
public final class Database implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  /** Which engine is behind the pool. */
  public enum Kind {
    SQLITE,
    POSTGRESQL
  }

  private final HikariDataSource dataSource;
  private final Jdbi jdbi;
  private final Kind kind;

  /** PostgreSQL: the id blocks' own connection (see {@link ComputeIds}); null on SQLite. */
  private final HikariDataSource idSource;

  private Database(HikariDataSource dataSource, Kind kind, HikariDataSource idSource) {
    this.dataSource = dataSource;
    this.kind = kind;
    this.idSource = idSource;
    this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
    if (idSource != null) {
      jdbi.define(ComputeIds.BLOCKS, new ComputeIds.Blocks(Jdbi.create(idSource)));
    }
  }

  /** Opens the configured database and applies every pending migration. */
  public static Database open(Config config) {
    Optional<String> url = config.get("database_url").filter(s -> !s.isBlank());
    int poolSize = config.integer("database_pool_size", 8);
    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName("virga-db");
    hikari.setMaximumPoolSize(poolSize);
    hikari.setMinimumIdle(1);
    Kind kind;
    if (url.isPresent() && url.get().startsWith("jdbc:postgresql:")) {
      kind = Kind.POSTGRESQL;
      hikari.setJdbcUrl(url.get());
      config.get("database_user").ifPresent(hikari::setUsername);
      config.get("database_password").ifPresent(hikari::setPassword);
    } else if (url.isPresent() && !url.get().startsWith("jdbc:sqlite:")) {
      throw new VirgaException(
          "database_url must be jdbc:postgresql://host:port/db or jdbc:sqlite:/path, not "
              + url.get());
    } else {
      kind = Kind.SQLITE;
      String sqliteUrl = url.orElseGet(() -> "jdbc:sqlite:" + sqliteFile(config));
      hikari.setDataSource(sqlite(sqliteUrl, config.integer("database_busy_timeout_ms", 30000)));
    }
    HikariDataSource ds;
    try {
      ds = new HikariDataSource(hikari);
    } catch (RuntimeException e) {
      throw new VirgaException(
          "cannot connect to the "
              + kind
              + " database: "
              + e.getMessage()
              + " (check database_url)",
          e);
    }
    try {
      migrate(ds);
    } catch (RuntimeException e) {
      ds.close();
      throw e;
    }
    HikariDataSource ids = null;
    if (kind == Kind.POSTGRESQL) {
      HikariConfig own = new HikariConfig();
      hikari.copyStateTo(own);
      own.setPoolName("virga-db-ids");
      own.setMaximumPoolSize(1);
      own.setMinimumIdle(0);
      try {
        ids = new HikariDataSource(own);
      } catch (RuntimeException e) {
        ds.close();
        throw new VirgaException("cannot connect to the POSTGRESQL database: " + e.getMessage(), e);
      }
    }
    return new Database(ds, kind, ids);
  }

  private static Path sqliteFile(Config config) {
    Path home = config.home();
    try {
      Files.createDirectories(home);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create VIRGA_HOME " + home, e);
    }
    return home.resolve("virga.db");
  }

  private static DataSource sqlite(String url, int busyTimeoutMs) {
    SQLiteConfig c = new SQLiteConfig();
    c.setJournalMode(SQLiteConfig.JournalMode.WAL);
    c.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
    c.enforceForeignKeys(true);
    c.setBusyTimeout(busyTimeoutMs);
    c.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    SQLiteDataSource ds = new SQLiteDataSource(c);
    ds.setUrl(url);
    return ds;
  }

  private static void migrate(DataSource ds) {
    MigrateResult result =
        Flyway.configure()
            .dataSource(ds)
            .locations("classpath:db/migration")
            .baselineOnMigrate(false)
            .load()
            .migrate();
    if (result.migrationsExecuted > 0) {
      LOG.info(
          "database migrated to version {} ({} migrations applied)",
          result.targetSchemaVersion,
          result.migrationsExecuted);
    }
  }

  public Kind kind() {
    return kind;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public <R> R withHandle(HandleCallback<R, RuntimeException> callback) {
    return jdbi.withHandle(callback);
  }

  public <R> R inTransaction(HandleCallback<R, RuntimeException> callback) {
    return jdbi.inTransaction(callback);
  }

  public void useTransaction(HandleConsumer<RuntimeException> consumer) {
    jdbi.useTransaction(consumer);
  }

  /** The current time as stored in every timestamp column (epoch milliseconds, UTC). */
  public static long now() {
    return System.currentTimeMillis();
  }

  /** A short check that the database answers (for status commands). */
  public boolean ping() {
    try {
      return withHandle(h -> h.createQuery("SELECT 1").mapTo(Integer.class).one() == 1);
    } catch (RuntimeException e) {
      LOG.warn("database ping failed: {}", e.getMessage());
      return false;
    }
  }

  @Override
  public void close() {
    dataSource.close();
    if (idSource != null) {
      idSource.close();
    }
  }

  /** Unused-handle guard for callers that want a raw handle for several statements. */
  public Handle open() {
    return jdbi.open();
  }
}
