package io.virga.server;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Properties;

/**
 * The admin, demo and agent service passwords: from VIRGA_ADMIN_PASSWORD / VIRGA_DEMO_PASSWORD /
 * VIRGA_SERVICE_PASSWORD, else from {@code $VIRGA_HOME/credentials} (mode 0600), else generated
 * once and stored there. Never logged. The service password is the credential agents use for the
 * image API (user {@code virga-agent} in project {@code service}).
 */
record UpCredentials(String adminPassword, String demoPassword, String servicePassword, Path file) {

  static UpCredentials load(Path home, Map<String, String> env) {
    Path file = home.resolve("credentials");
    Properties stored = new Properties();
    if (Files.isRegularFile(file)) {
      try (Reader r = Files.newBufferedReader(file)) {
        stored.load(r);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
    }
    String admin = pick(env.get("VIRGA_ADMIN_PASSWORD"), stored.getProperty("admin_password"));
    String demo = pick(env.get("VIRGA_DEMO_PASSWORD"), stored.getProperty("demo_password"));
    String service =
        pick(env.get("VIRGA_SERVICE_PASSWORD"), stored.getProperty("service_password"));
    if (!admin.equals(stored.getProperty("admin_password"))
        || !demo.equals(stored.getProperty("demo_password"))
        || !service.equals(stored.getProperty("service_password"))) {
      stored.setProperty("admin_password", admin);
      stored.setProperty("demo_password", demo);
      stored.setProperty("service_password", service);
      write(file, stored);
    }
    return new UpCredentials(admin, demo, service, file);
  }

  private static String pick(String fromEnv, String fromFile) {
    if (fromEnv != null && !fromEnv.isEmpty()) {
      return fromEnv;
    }
    if (fromFile != null && !fromFile.isEmpty()) {
      return fromFile;
    }
    String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    SecureRandom rnd = new SecureRandom();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static void write(Path file, Properties p) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = file.resolveSibling("credentials.tmp");
      Files.deleteIfExists(tmp);
      Files.createFile(
          tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (Writer w = Files.newBufferedWriter(tmp, StandardOpenOption.TRUNCATE_EXISTING)) {
        p.store(w, "virga: OpenStack passwords of the admin, demo and virga-agent users");
      }
      Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
