package io.virga.db;

import io.virga.core.Config;
import io.virga.testing.PerClassFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real, throw-away PostgreSQL server for integration tests, started from the Debian package's
 * binaries ({@code /usr/lib/postgresql/<version>/bin}, newest version; {@code VIRGA_PG_BIN}
 * overrides): {@code initdb} into a temp directory (as the {@code postgres} OS user when running as
 * root, since PostgreSQL refuses root), {@code pg_ctl start} on a free port on 127.0.0.1 with trust
 * authentication, and a fresh database per {@link #createDatabase}. {@link #close} stops the server
 * and deletes the directory. Other modules' tests reach it through virga-db's test-jar, as a {@code
 * PerClassFixture<PostgresFixture>}.
 */
public final class PostgresFixture implements AutoCloseable {
  private final Path bin;
  private final Path dir;
  private final int port;
  private final boolean asPostgresUser;
  private int databases;

  private PostgresFixture(Path bin, Path dir, int port, boolean asPostgresUser) {
    this.bin = bin;
    this.dir = dir;
    this.port = port;
    this.asPostgresUser = asPostgresUser;
  }

  /**
   * One server per test class: {@code @RegisterExtension static final … =
   * PostgresFixture.perClass()}.
   */
  public static PerClassFixture<PostgresFixture> perClass() {
    return new PerClassFixture<>(PostgresFixture::start);
  }

  public static PostgresFixture start() {
    Path bin = findBin();
    boolean root = "root".equals(System.getProperty("user.name"));
    try {
      Path dir = Files.createTempDirectory("virga-pg-");
      if (root) {
        run(List.of("chown", "postgres:postgres", dir.toString()), false, dir);
      }
      PostgresFixture pg = new PostgresFixture(bin, dir, freePort(), root);
      pg.initAndStart();
      return pg;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path findBin() {
    String override = System.getenv("VIRGA_PG_BIN");
    if (override != null) {
      return Paths.get(override);
    }
    Path base = Paths.get("/usr/lib/postgresql");
    try (Stream<Path> versions = Files.list(base)) {
      return versions
          .map(v -> v.resolve("bin"))
          .filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(
              Comparator.comparing(
                  b ->
                      Integer.parseInt(
                          b.getParent().getFileName().toString().replaceAll("\\D", "0"))))
          .orElseThrow(() -> new IllegalStateException("no initdb under " + base));
    } catch (IOException e) {
      throw new IllegalStateException(
          "PostgreSQL is not installed (apt-get install postgresql); looked in " + base, e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void initAndStart() {
    Path data = dir.resolve("data");
    run(
        List.of(
            bin.resolve("initdb").toString(),
            "-D",
            data.toString(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync"),
        asPostgresUser,
        dir);
    run(
        List.of(
            bin.resolve("pg_ctl").toString(),
            "-D",
            data.toString(),
            "-l",
            dir.resolve("server.log").toString(),
            "-w",
            "-t",
            "60",
            "-o",
            "-p "
                + port
                + " -k "
                + dir
                + " -c listen_addresses=127.0.0.1 -c fsync=off "
                // benchmarks' extra server settings (e.g. pg_stat_statements), never user input
                + System.getenv().getOrDefault("VIRGA_TEST_PG_OPTIONS", ""),
            "start"),
        asPostgresUser,
        dir);
  }

  private static void run(List<String> command, boolean asPostgres, Path dir) {
    List<String> cmd = new ArrayList<>();
    if (asPostgres) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(command);
    try {
      Path log = Files.createTempFile("virga-pg-cmd", ".log");
      Process p =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + cmd);
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      Files.deleteIfExists(log);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(cmd + " failed (" + p.exitValue() + "):\n" + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public int port() {
    return port;
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** Creates a new empty database and returns its name. */
  public synchronized String createDatabase() {
    String name = "virga_test_" + (++databases);
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name); // name is ours, not user input
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name, e);
    }
    return name;
  }

  /** A configuration pointing Virga at a fresh database on this server. */
  public Config freshConfig(Path home, Map<String, String> extra) {
    Map<String, String> values = new HashMap<>(extra);
    values.put("home", home.toString());
    values.put("database_url", jdbcUrl(createDatabase()));
    values.put("database_user", "postgres");
    values.put("database_password", "");
    return Config.of(values);
  }

  @Override
  public void close() {
    try {
      run(
          List.of(
              bin.resolve("pg_ctl").toString(),
              "-D",
              dir.resolve("data").toString(),
              "-m",
              "immediate",
              "-w",
              "stop"),
          asPostgresUser,
          dir);
    } finally {
      try (Stream<Path> walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        // best effort: a temp directory
      }
    }
  }
}
