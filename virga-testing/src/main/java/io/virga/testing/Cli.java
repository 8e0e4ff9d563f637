package io.virga.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.virga.core.Command;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the command-line tests run: any command through Virga's one runner ({@link Command}), the
 * stock {@code openstack} client against a clouds.yaml, and {@code virsh}. A non-zero exit is a
 * {@link Result}, not an exception, so a test can assert on it.
 */
public final class Cli {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(300);

  private Cli() {}

  /** A finished command: exit code, stdout, stderr. */
  public record Result(int rc, String out, String err) {
    public boolean ok() {
      return rc == 0;
    }

    /** Stdout as JSON; an AssertionError (with the output) when it is not. */
    public JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON (rc " + rc + "): " + out + err, e);
      }
    }

    /** This result, or an AssertionError naming what failed and its stderr. */
    public Result orFail(String what) {
      if (rc != 0) {
        throw new AssertionError(what + " exited " + rc + ": " + err + out);
      }
      return this;
    }
  }

  public static Result run(List<String> cmd) {
    return run(cmd, Map.of());
  }

  /** Runs {@code cmd} with {@code env} added, waiting up to 300 s. */
  public static Result run(List<String> cmd, Map<String, String> env) {
    Command.Result r = Command.of(cmd).env(env).timeout(TIMEOUT).run();
    return new Result(r.exitCode(), r.stdout(), r.stderr());
  }

  /**
   * {@code openstack --os-cloud <cloud> args…} against {@code cloudsYaml}, with none of the
   * caller's {@code OS_*} variables (they would override the file).
   */
  public static Result openstack(Path cloudsYaml, String cloud, String... args) {
    return openstack(cloudsYaml, Map.of(), cloud, args);
  }

  /** {@link #openstack(Path, String, String...)} with {@code env} added (e.g. its own HOME). */
  public static Result openstack(
      Path cloudsYaml, Map<String, String> env, String cloud, String... args) {
    List<String> cmd = new ArrayList<>(List.of("openstack", "--os-cloud", cloud));
    cmd.addAll(List.of(args));
    Command.Result r =
        Command.of(cmd)
            .withoutEnv(name -> name.startsWith("OS_"))
            .env("OS_CLIENT_CONFIG_FILE", cloudsYaml.toString())
            .env(env)
            .timeout(TIMEOUT)
            .run();
    return new Result(r.exitCode(), r.stdout(), r.stderr());
  }

  /** {@code openstack …} that must succeed. */
  public static Result openstackOk(Path cloudsYaml, String cloud, String... args) {
    return openstack(cloudsYaml, cloud, args)
        .orFail("openstack --os-cloud " + cloud + " " + String.join(" ", args));
  }

  /** {@code virsh args…} (qemu:///system): stdout stripped, or empty when it failed. */
  public static String virsh(String... args) {
    List<String> cmd = new ArrayList<>(List.of("virsh"));
    cmd.addAll(List.of(args));
    Result r = run(cmd);
    return r.ok() ? r.out().strip() : "";
  }
}
