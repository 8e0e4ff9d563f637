package io.virga.libvirt;

import io.virga.multihost.NamespacedHost;
import io.virga.multihost.NamespacedHostsFixture;
import io.virga.virt.InstanceSpec;
import io.virga.virt.LiveMigrationData;
import io.virga.virt.MigrationProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two namespaced hosts, each with its own LibvirtDriver (as its agent would have), for the
 * migration tests; the live migration flow run as the compute manager runs it.
 */
final class TwoHosts implements AutoCloseable {
  final NamespacedHostsFixture hosts;
  final LibvirtDriverFixture one;
  final LibvirtDriverFixture two;

  TwoHosts(boolean sharedStorage, Map<String, String> sourceConfig) {
    hosts = NamespacedHostsFixture.start(2, sharedStorage);
    try {
      one = new LibvirtDriverFixture(config(hosts.host(1), sourceConfig));
      two = new LibvirtDriverFixture(config(hosts.host(2), sourceConfig));
    } catch (RuntimeException e) {
      hosts.close();
      throw e;
    }
  }

  private static Map<String, String> config(NamespacedHost h, Map<String, String> extra) {
    Map<String, String> c = new HashMap<>(extra);
    c.put("connection_uri", h.uri());
    c.put("instances_path", h.instancesDir().toString());
    c.put("live_migration_inbound_addr", h.name()); // how the other host's libvirtd reaches it
    return c;
  }

  LibvirtDriverFixture other(LibvirtDriverFixture f) {
    return f == one ? two : one;
  }

  /** Nova's order: dest check → source check → pre_live_migration → live_migration → post. */
  LiveMigrationData prepare(
      InstanceSpec spec,
      LibvirtDriverFixture from,
      LibvirtDriverFixture to,
      Optional<Boolean> block) {
    LiveMigrationData d = to.driver.checkCanLiveMigrateDestination(spec, block);
    try {
      d = from.driver.checkCanLiveMigrateSource(spec, d, block);
    } finally {
      to.driver.cleanupLiveMigrationDestinationCheck(d);
    }
    return to.driver.preLiveMigration(spec, d, from.images);
  }

  /** The whole flow; on failure the destination rollback runs and the error is rethrown. */
  LiveMigrationData migrate(
      InstanceSpec spec,
      LibvirtDriverFixture from,
      LibvirtDriverFixture to,
      Consumer<MigrationProgress> progress) {
    LiveMigrationData d = prepare(spec, from, to, Optional.empty());
    try {
      from.driver.liveMigration(spec, d, progress);
    } catch (RuntimeException e) {
      to.driver.rollbackLiveMigrationAtDestination(spec, d);
      throw e;
    }
    from.driver.postLiveMigrationAtSource(spec, d);
    to.driver.postLiveMigrationAtDestination(spec, d);
    return d;
  }

  /** Every TICK number in a console log, in order. */
  static List<Integer> ticks(Path console) {
    List<Integer> out = new ArrayList<>();
    try {
      if (!Files.exists(console)) {
        return out;
      }
      Matcher m = Pattern.compile("TICK (\\d+)").matcher(Files.readString(console));
      while (m.find()) {
        out.add(Integer.parseInt(m.group(1)));
      }
    } catch (java.io.IOException e) {
      // being rotated or removed: no ticks this time
    }
    return out;
  }

  /** Stops host {@code n}'s libvirtd (kill by its pid file, inside the host). */
  void stopLibvirtd(int n) throws Exception {
    List<String> cmd =
        hosts.host(n).enter(List.of("sh", "-c", "kill -9 \"$(cat /run/libvirtd.pid)\""));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor();
  }

  @Override
  public void close() {
    try {
      two.close();
    } finally {
      try {
        one.close();
      } finally {
        hosts.close();
      }
    }
  }
}
