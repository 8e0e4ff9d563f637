package io.virga.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.testing.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * {@code ./virga up --hosts 2} (virt_type qemu) in a test's home, driven with the stock openstack
 * CLI as the admin cloud {@code virga}: the start and stop the ITs on two real hosts share, the
 * waits for a server, its console and its directories, and a look at each host's own libvirtd.
 */
final class UpHostsCloud {
  final Path home;
  final VirgaUpProcess up;

  private UpHostsCloud(Path home, VirgaUpProcess up) {
    this.home = home;
    this.up = up;
  }

  /**
   * Starts up with its own instance ids (libvirtd is shared); {@code settings} (VIRGA_* variables)
   * add to or replace a report interval of 5 s.
   */
  static UpHostsCloud start(Path home, Map<String, String> settings) throws Exception {
    VirgaUpProcess.seedInstanceIds(Config.of(Map.of("home", home.toString())));
    Map<String, String> env =
        new HashMap<>(Map.of("VIRGA_VIRT_TYPE", "qemu", "VIRGA_REPORT_INTERVAL", "5"));
    env.putAll(settings);
    VirgaUpProcess up = new VirgaUpProcess(home, env).withArgs("--hosts", "2");
    up.start();
    return new UpHostsCloud(home, up);
  }

  /** SIGTERM; an assertion that it stopped. */
  void stop() throws InterruptedException {
    assertThat(up.stop()).as("virga up stops on SIGTERM").isTrue();
  }

  /** {@code openstack --os-cloud virga args…}, which may fail. */
  Cli.Result cli(String... args) {
    return up.cli("virga", args);
  }

  /** {@code openstack --os-cloud virga args…}, which must exit 0. */
  Cli.Result ok(String... args) {
    return up.ok("virga", args);
  }

  /** A virga-tiny v1.tiny server without network at microversion 2.37, with {@code options}. */
  JsonNode createServer(String name, String... options) {
    List<String> cmd =
        new ArrayList<>(List.of("--os-compute-api-version", "2.37", "server", "create"));
    cmd.addAll(List.of(options));
    cmd.addAll(
        List.of(
            "--image", "virga-tiny", "--flavor", "v1.tiny", "--nic", "none", "-f", "json", name));
    return ok(cmd.toArray(String[]::new)).json();
  }

  /** {@link #createServer} forced onto {@code virga-host<host>}, waiting until it is ACTIVE. */
  JsonNode createServerOn(int host, String name, String... options) {
    List<String> all = new ArrayList<>(List.of("--availability-zone", "nova:virga-host" + host));
    all.add("--wait");
    all.addAll(List.of(options));
    return createServer(name, all.toArray(String[]::new));
  }

  /**
   * The server once it has {@code status}, no task and {@code host} (within 300 s); an assertion
   * error as soon as it is in ERROR.
   */
  JsonNode awaitServer(String id, String status, String host) {
    JsonNode[] last = new JsonNode[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(300))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              last[0] = ok("server", "show", id, "-f", "json").json();
              assertThat(last[0].path("status").asText()).isNotEqualTo("ERROR");
              return last[0].path("status").asText().equals(status)
                  && last[0].path("OS-EXT-STS:task_state").isNull()
                  && last[0].path("OS-EXT-SRV-ATTR:host").asText().equals(host);
            });
    return last[0];
  }

  String console(String id) {
    return ok("console", "log", "show", id).out();
  }

  /** The console log once {@code regex} is found in it (within 180 s). */
  String awaitConsole(String id, String regex) {
    Pattern p = Pattern.compile(regex);
    String[] out = new String[1];
    Awaitility.await()
        .atMost(Duration.ofSeconds(180))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> p.matcher(out[0] = console(id)).find());
    return out[0];
  }

  /** The server's migration records, newest first (microversion 2.80). */
  JsonNode migrations(String id) {
    return ok(
            "--os-compute-api-version",
            "2.80",
            "server",
            "migration",
            "list",
            "--server",
            id,
            "-f",
            "json")
        .json();
  }

  JsonNode hypervisor(int host) {
    return ok("hypervisor", "show", "virga-host" + host, "-f", "json").json();
  }

  Path hostDir(int host) {
    return home.resolve("hosts/virga-host" + host);
  }

  /** {@code virsh args…} on the host's own libvirtd (not qemu:///system); must exit 0. */
  String virsh(int host, String... args) {
    String uri = "qemu+unix:///system?socket=" + hostDir(host).resolve("run-libvirt/libvirt-sock");
    List<String> cmd = new ArrayList<>(List.of("virsh", "-c", uri));
    cmd.addAll(List.of(args));
    return Cli.run(cmd).orFail("virsh " + String.join(" ", args)).out();
  }

  /** Instance directories (uuid-named, also {@code _resize}) left on a host. */
  List<String> instanceDirs(int host) throws IOException {
    try (Stream<Path> dirs = Files.list(hostDir(host).resolve("instances"))) {
      return dirs.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9a-f-]{36}.*"))
          .toList();
    }
  }

  /** The host keeps no directory of a server (confirm and clean-up finish after the status). */
  void awaitNoInstanceDirs(int host) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(instanceDirs(host)).isEmpty());
  }
}
