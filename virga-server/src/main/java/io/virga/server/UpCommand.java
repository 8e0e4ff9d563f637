package io.virga.server;

import io.virga.api.IdentityService;
import io.virga.core.Config;
import io.virga.db.ImageRecord;
import io.virga.host.HostSetup;
import io.virga.tinyguest.TinyGuest;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code virga up}: host setup, database migrations, then API (identity, compute, image),
 * scheduler, conductor and one compute agent in this JVM, in the foreground until Ctrl-C or
 * SIGTERM. State lives in VIRGA_HOME and survives restarts.
 */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Runs all of Virga on this host in the foreground: identity, compute and image API on one"
          + " listener, scheduler, conductor and a compute agent for this host.",
      "First run: sets the host up, creates the admin and demo users, default flavors and the"
          + " public image virga-tiny, and writes clouds.yaml entries virga and virga-demo.",
      "Stop with Ctrl-C; everything is kept in VIRGA_HOME for the next start."
    })
final class UpCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(UpCommand.class);

  @Option(
      names = "--bind",
      paramLabel = "ADDRESS",
      description = "listen address (bind_address, default 127.0.0.1)")
  String bind;

  @Option(names = "--port", paramLabel = "PORT", description = "listen port (port, default 8774)")
  Integer port;

  @Option(names = "--skip-host-setup", description = "do not run host-setup first")
  boolean skipHostSetup;

  @Option(
      names = "--hosts",
      paramLabel = "N",
      defaultValue = "1",
      description =
          "hypervisor hosts to run on this machine (default 1: everything in this process); with"
              + " N > 1 each host is a namespaced libvirtd with its own virga agent process, over a"
              + " private RabbitMQ")
  int hosts;

  @Option(
      names = "--shared-storage",
      description = "with --hosts N: all hosts' instances directories on one shared directory")
  boolean sharedStorage;

  @Option(
      names = "--clouds-yaml",
      paramLabel = "FILE",
      description =
          "clouds.yaml to write the virga entries into (default ~/.config/openstack/clouds.yaml)")
  Path cloudsYaml;

  @Override
  public Integer call() {
    Map<String, String> env = new HashMap<>(System.getenv());
    if (bind != null) {
      env.put("VIRGA_BIND_ADDRESS", bind);
    }
    if (port != null) {
      env.put("VIRGA_PORT", Integer.toString(port));
    }
    Config config = Config.load(env);
    PrintStream out = System.out;
    if (hosts < 1 || hosts > 200) {
      throw new io.virga.core.InvalidInputException("--hosts must be 1..200, not " + hosts);
    }
    if (sharedStorage && hosts == 1) {
      throw new io.virga.core.InvalidInputException("--shared-storage needs --hosts 2 or more");
    }
    boolean fake = config.string("compute_driver", "libvirt").equals("fake");
    if (fake && hosts > 1) {
      throw new io.virga.core.InvalidInputException(
          "--hosts N runs real libvirtds; compute_driver=fake has no hosts to namespace");
    }
    Path guestDisk = null;
    if (!fake && !skipHostSetup) {
      HostSetup.Result setup =
          HostSetup.run(
              HostSetup.Options.defaults(false).withMultiHost(hosts > 1),
              config,
              line -> out.println(line.startsWith("host-setup:") ? line : "host-setup: " + line));
      guestDisk = setup.guest().disk();
      config = Config.load(env); // host-setup may have recorded virt_type
    }
    Path clouds = cloudsYaml != null ? cloudsYaml : UpCloudsYaml.defaultFile();
    AutoCloseable everything;
    Path home = config.home();
    if (hosts > 1) {
      everything = MultiHostUp.start(config, env, hosts, sharedStorage, clouds, guestDisk, out);
    } else {
      everything = start(config, env, clouds, guestDisk, out).cloud();
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  out.println("virga: stopping ...");
                  try {
                    everything.close();
                  } catch (Exception e) {
                    out.println("virga: error while stopping: " + e);
                  }
                  out.println("virga: stopped; state is kept in " + home);
                  stopped.countDown();
                },
                "virga-shutdown"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  record Running(
      AllInOne cloud,
      Path home,
      IdentityService.Bootstrap users,
      UpCredentials creds,
      boolean tinyImage) {}

  /**
   * Starts everything and ensures the defaults; prints what to type next. {@code guestDisk} is the
   * tiny guest's qcow2 (built when null and the image is missing, unless the driver is fake).
   */
  static Running start(
      Config config, Map<String, String> env, Path cloudsYaml, Path guestDisk, PrintStream out) {
    return start(config, env, cloudsYaml, guestDisk, out, AllInOne::driverFor, true);
  }

  static Running start(
      Config config,
      Map<String, String> env,
      Path cloudsYaml,
      Path guestDisk,
      PrintStream out,
      java.util.function.Function<Config, io.virga.virt.ComputeDriver> drivers,
      boolean ownsDriver) {
    createHome(config.home());
    AllInOne cloud = AllInOne.start(config, drivers, ownsDriver);
    try {
      Running running = ensureDefaults(cloud, config, env, cloudsYaml, guestDisk);
      printHints(running, cloudsYaml, "compute host " + cloud.agent().host(), out);
      return running;
    } catch (RuntimeException e) {
      cloud.close();
      throw e;
    }
  }

  static void createHome(Path home) {
    try {
      Files.createDirectories(home);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot create VIRGA_HOME " + home, e);
    }
  }

  /** Users (admin, demo, the agents' virga-agent), flavors, the tiny image, clouds.yaml. */
  static Running ensureDefaults(
      AllInOne cloud, Config config, Map<String, String> env, Path cloudsYaml, Path guestDisk) {
    Path home = config.home();
    UpCredentials creds = UpCredentials.load(home, env);
    IdentityService.Bootstrap users = UpDefaults.ensureUsers(cloud.identity(), creds);
    int flavors = UpDefaults.ensureFlavors(cloud.compute().flavors());
    if (flavors > 0) {
      LOG.info("created {} default flavors", flavors);
    }
    boolean fake = config.string("compute_driver", "libvirt").equals("fake");
    boolean tiny = config.bool("import_tiny_image", !fake);
    if (tiny) {
      Path disk =
          guestDisk != null ? guestDisk : TinyGuest.ensureBuilt(TinyGuest.defaultCacheDir()).disk();
      ImageRecord img =
          UpDefaults.ensureImage(
              cloud.images(), users.adminProjectId(), UpDefaults.TINY_IMAGE, disk);
      LOG.info("image {} is {}", UpDefaults.TINY_IMAGE, img.id());
    }
    UpCloudsYaml.write(cloudsYaml, cloud.api().url() + "/identity/v3", creds);
    return new Running(cloud, home, users, creds, tiny);
  }

  /** What to type next; {@code openstack} hints say how to get the CLI when it is missing. */
  static void printHints(Running r, Path cloudsYaml, String computeHosts, PrintStream out) {
    String imageHint = r.tinyImage() ? UpDefaults.TINY_IMAGE : "<image>";
    out.println();
    out.println("Virga is up on " + r.cloud().api().url() + " (" + computeHosts + ").");
    out.println("  Passwords of the users admin and demo are in " + r.creds().file() + ".");
    out.println("  clouds.yaml entries virga (admin) and virga-demo are in " + cloudsYaml + ".");
    if (!onPath("openstack")) {
      out.println("The openstack CLI is not installed; get it with:");
      out.println("  apt-get install python3-openstackclient");
    }
    out.println("Try:");
    out.println("  openstack --os-cloud virga server list");
    out.println("  openstack --os-cloud virga --os-compute-api-version 2.37 server create \\");
    out.println("      --image " + imageHint + " --flavor v1.tiny --nic none --wait demo1");
    out.println("  openstack --os-cloud virga console log show demo1");
    out.println("Stop with Ctrl-C; state is kept in " + r.home() + ".");
  }

  static boolean onPath(String name) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return true;
      }
    }
    return false;
  }

  /** {@code virga status}: whether an API answers on the configured address. */
  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Tells whether Virga is up on the configured address (bind_address, port).")
  static final class Status implements Callable<Integer> {
    @Override
    public Integer call() {
      Config config = Config.load();
      String host = config.string("bind_address", "127.0.0.1");
      if (host.equals("0.0.0.0") || host.equals("::")) {
        host = "127.0.0.1";
      }
      String url = "http://" + host + ":" + config.integer("port", 8774) + "/compute/v2.1";
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(5))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          System.out.println("virga is up: " + url + " answers");
          System.out.println("state in " + config.home());
          return 0;
        }
        System.out.println("virga answers on " + url + " with HTTP " + r.statusCode());
        return 1;
      } catch (IOException e) {
        String why = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        System.out.println("virga is not up: nothing answers on " + url + " (" + why + ")");
        return 3;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 1;
      }
    }
  }
}
