package io.virga.multihost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * N namespaced hosts for one test class, under a fresh short temp dir (libvirtd's socket path must
 * stay under 108 bytes); {@link #close()} stops them and removes the dir. Reused by other modules'
 * multi-host tests through this module's test-jar.
 *
 * <pre>{@code
 * try (NamespacedHostsFixture hosts = NamespacedHostsFixture.start(2, false)) {
 *   String source = hosts.host(1).uri();        // qemu+unix:///system?socket=...
 *   String dest = hosts.host(2).tcpUri();       // qemu+tcp://virga-host2/system, as host1 sees it
 *   Path instances = hosts.host(1).instancesDir();
 * }
 * }</pre>
 */
public final class NamespacedHostsFixture implements AutoCloseable {
  private final Path root;
  private final NamespacedHosts hosts;

  private NamespacedHostsFixture(Path root, NamespacedHosts hosts) {
    this.root = root;
    this.hosts = hosts;
  }

  /** {@code count} hosts, named virga-host1..N; with shared storage when asked. */
  public static NamespacedHostsFixture start(int count, boolean sharedStorage) {
    Path root;
    try {
      root = Files.createTempDirectory(Path.of("/tmp"), "vh-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return new NamespacedHostsFixture(
          root,
          NamespacedHosts.start(
              NamespacedHosts.Options.of(root, count).withSharedStorage(sharedStorage)));
    } catch (RuntimeException e) {
      NamespacedHosts.deleteTree(root);
      throw e;
    }
  }

  public NamespacedHost host(int n) {
    return hosts.host(n);
  }

  public List<NamespacedHost> hosts() {
    return hosts.hosts();
  }

  public NamespacedHosts set() {
    return hosts;
  }

  public Path root() {
    return root;
  }

  @Override
  public void close() {
    try {
      hosts.close();
    } finally {
      NamespacedHosts.deleteTree(root);
    }
  }
}
