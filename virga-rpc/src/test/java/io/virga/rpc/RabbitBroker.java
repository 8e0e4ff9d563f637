package io.virga.rpc;

import io.virga.multihost.NamespacedHosts;
import io.virga.multihost.OwnedProcesses;
import io.virga.multihost.PrivateBroker;
import io.virga.testing.PerClassFixture;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A throw-away RabbitMQ for one test class: {@link PrivateBroker} (its own node name, ports, epmd
 * and data under a temp dir, recorded so a killed test run's broker is stopped by the next one);
 * stopped and removed by {@link #close}.
 */
public final class RabbitBroker implements AutoCloseable {
  private final Path dir;
  private final OwnedProcesses owned;
  private final PrivateBroker broker;

  private RabbitBroker(Path dir, OwnedProcesses owned, PrivateBroker broker) {
    this.dir = dir;
    this.owned = owned;
    this.broker = broker;
  }

  public static RabbitBroker start(Duration startTimeout) throws IOException {
    Path dir = Files.createTempDirectory("virga-rabbit-it-");
    OwnedProcesses.reapStale(OwnedProcesses.DEFAULT_DIR);
    OwnedProcesses owned = OwnedProcesses.open(OwnedProcesses.DEFAULT_DIR, "rabbit-it");
    try {
      return new RabbitBroker(dir, owned, PrivateBroker.start(dir, 0, owned, startTimeout));
    } catch (RuntimeException e) {
      owned.close();
      NamespacedHosts.deleteTree(dir);
      throw e;
    }
  }

  /**
   * One broker per test class: {@code @RegisterExtension static final … = RabbitBroker.perClass()}.
   */
  public static PerClassFixture<RabbitBroker> perClass() {
    return new PerClassFixture<>(() -> start(Duration.ofSeconds(180)));
  }

  public URI uri() {
    return broker.uri();
  }

  /** Stops the broker and starts it again on the same port and data (reconnect tests). */
  public void restart(Duration timeout) {
    broker.restart(timeout);
  }

  @Override
  public void close() {
    broker.close();
    owned.close();
    NamespacedHosts.deleteTree(dir);
  }
}
