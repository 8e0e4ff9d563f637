package io.virga.core;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Virga's configuration: one properties file ({@code $VIRGA_HOME/virga.conf} unless {@code
 * VIRGA_CONFIG} names another) with environment overrides. Option {@code images_type} is overridden
 * by the environment variable {@code VIRGA_IMAGES_TYPE}. Every option is documented in the README's
 * configuration table with its default; callers pass that default here.
 */
public final class Config {
  private final Properties file;
  private final Map<String, String> env;
  private final Path path;

  private Config(Path path, Properties file, Map<String, String> env) {
    this.path = path;
    this.file = file;
    this.env = env;
  }

  /** Loads the configuration from the process environment and the file it points to. */
  public static Config load() {
    return load(System.getenv());
  }

  public static Config load(Map<String, String> env) {
    Path home = Paths.get(env.getOrDefault("VIRGA_HOME", "/var/lib/virga"));
    Path path =
        Optional.ofNullable(env.get("VIRGA_CONFIG"))
            .map(Paths::get)
            .orElse(home.resolve("virga.conf"));
    Properties props = new Properties();
    if (Files.isRegularFile(path)) {
      try (Reader r = Files.newBufferedReader(path)) {
        props.load(r);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read configuration " + path, e);
      }
    }
    return new Config(path, props, Map.copyOf(env));
  }

  /** A configuration from explicit values only (tests). */
  public static Config of(Map<String, String> values) {
    Properties props = new Properties();
    props.putAll(values);
    return new Config(Paths.get("/nonexistent/virga.conf"), props, Map.of());
  }

  public Path file() {
    return path;
  }

  /** VIRGA_HOME: the root of all of Virga's state (DESIGN §6). */
  public Path home() {
    return Paths.get(string("home", env.getOrDefault("VIRGA_HOME", "/var/lib/virga")));
  }

  public Optional<String> get(String key) {
    String envValue = env.get("VIRGA_" + key.toUpperCase(Locale.ROOT).replace('.', '_'));
    if (envValue != null) {
      return Optional.of(envValue);
    }
    return Optional.ofNullable(file.getProperty(key)).map(String::strip);
  }

  public String string(String key, String dflt) {
    return get(key).orElse(dflt);
  }

  public int integer(String key, int dflt) {
    return get(key).map(v -> parse(key, v, Integer::parseInt)).orElse(dflt);
  }

  public long longValue(String key, long dflt) {
    return get(key).map(v -> parse(key, v, Long::parseLong)).orElse(dflt);
  }

  public double decimal(String key, double dflt) {
    return get(key).map(v -> parse(key, v, Double::parseDouble)).orElse(dflt);
  }

  public boolean bool(String key, boolean dflt) {
    return get(key)
        .map(
            v ->
                switch (v.toLowerCase(Locale.ROOT)) {
                  case "true", "yes", "on", "1" -> true;
                  case "false", "no", "off", "0" -> false;
                  default ->
                      throw new InvalidInputException(
                          "configuration option "
                              + key
                              + " must be true or false, not '"
                              + v
                              + "'");
                })
        .orElse(dflt);
  }

  /** A duration given in seconds. */
  public Duration seconds(String key, long dfltSeconds) {
    return Duration.ofSeconds(longValue(key, dfltSeconds));
  }

  /** Writes one option into the configuration file, keeping the others; returns true if changed. */
  public boolean persist(String key, String value) {
    if (value.equals(file.getProperty(key))) {
      return false;
    }
    file.setProperty(key, value);
    try {
      Files.createDirectories(path.toAbsolutePath().getParent());
      Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
      try (Writer w = Files.newBufferedWriter(tmp)) {
        file.store(w, "Virga configuration (see the README's configuration table)");
      }
      Files.move(
          tmp,
          path,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write configuration " + path, e);
    }
    return true;
  }

  private static <T> T parse(String key, String value, java.util.function.Function<String, T> f) {
    try {
      return f.apply(value);
    } catch (NumberFormatException e) {
      throw new InvalidInputException(
          "configuration option " + key + " must be a number, not '" + value + "'");
    }
  }
}
