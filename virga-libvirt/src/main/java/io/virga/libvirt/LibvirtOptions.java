package io.virga.libvirt;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The libvirt driver's configuration, read once from {@link Config}. Each option's name is the
 * configuration key; defaults are Nova's where Nova has one.
 *
 * @param connectionUri {@code connection_uri}: libvirt URI (default {@code qemu:///system})
 * @param virtType {@code virt_type}: {@code kvm} or {@code qemu} (TCG); host-setup records it
 * @param cpuMode {@code cpu_mode}: {@code host-model}, {@code host-passthrough}, {@code custom} or
 *     {@code none}; default host-model for kvm, none for qemu
 * @param cpuModel {@code cpu_model}: the model when cpu_mode is custom
 * @param machineType {@code hw_machine_type}: {@code pc} (i440fx, default) or {@code q35}
 * @param imagesType {@code images_type}: {@code qcow2} (default) or {@code raw}
 * @param forceConfigDrive {@code force_config_drive}: build a config drive for every instance
 *     (default true: Virga has no metadata service, so the config drive is how a guest learns its
 *     identity, keys and user data)
 * @param isoTool {@code mkisofs_cmd}: xorriso or genisoimage; default: whichever is installed
 * @param shutdownTimeout {@code shutdown_timeout} seconds (default 60)
 * @param shutdownRetryInterval {@code shutdown_retry_interval} seconds (default 10)
 * @param instancesPath {@code instances_path} (default $VIRGA_HOME/instances)
 * @param diskCacheMode {@code disk_cachemode}: {@code none} (default; falls back to writeback where
 *     the filesystem refuses O_DIRECT) or {@code writeback}
 * @param spawnTimeout {@code spawn_running_timeout} seconds to wait for RUNNING after start (60)
 * @param memStatsPeriod {@code mem_stats_period_seconds} for the memballoon (default 10; 0 off)
 */
public record LibvirtOptions(
    String connectionUri,
    String virtType,
    String cpuMode,
    Optional<String> cpuModel,
    String machineType,
    String imagesType,
    boolean forceConfigDrive,
    String isoTool,
    Duration shutdownTimeout,
    Duration shutdownRetryInterval,
    Path instancesPath,
    String diskCacheMode,
    Duration spawnTimeout,
    int memStatsPeriod) {

  public LibvirtOptions {
    virtType = virtType.toLowerCase(Locale.ROOT);
    if (!virtType.equals("kvm") && !virtType.equals("qemu")) {
      throw new InvalidInputException("virt_type must be kvm or qemu, not '" + virtType + "'");
    }
    if (!java.util.Set.of("host-model", "host-passthrough", "custom", "none").contains(cpuMode)) {
      throw new InvalidInputException(
          "cpu_mode must be host-model, host-passthrough, custom or none, not '" + cpuMode + "'");
    }
    if (cpuMode.equals("custom") && cpuModel.isEmpty()) {
      throw new InvalidInputException("cpu_mode=custom needs cpu_model");
    }
    if (!machineType.equals("pc") && !machineType.equals("q35")) {
      throw new InvalidInputException("hw_machine_type must be pc or q35");
    }
    if (!imagesType.equals("qcow2") && !imagesType.equals("raw") && !imagesType.equals("flat")) {
      throw new InvalidInputException("images_type must be qcow2 or raw, not '" + imagesType + "'");
    }
    if (!diskCacheMode.equals("none") && !diskCacheMode.equals("writeback")) {
      throw new InvalidInputException("disk_cachemode must be none or writeback");
    }
  }

  public static LibvirtOptions from(Config config) {
    String virtType = config.string("virt_type", "kvm");
    String defaultCpuMode = virtType.equalsIgnoreCase("kvm") ? "host-model" : "none";
    return new LibvirtOptions(
        config.string("connection_uri", "qemu:///system"),
        virtType,
        config.string("cpu_mode", defaultCpuMode),
        config.get("cpu_model"),
        config.string("hw_machine_type", "pc"),
        config.string("images_type", "qcow2"),
        config.bool("force_config_drive", true),
        config.string("mkisofs_cmd", ConfigDriveBuilder.defaultTool()),
        config.seconds("shutdown_timeout", 60),
        config.seconds("shutdown_retry_interval", 10),
        config.get("instances_path").map(Path::of).orElse(config.home().resolve("instances")),
        config.string("disk_cachemode", "none"),
        config.seconds("spawn_running_timeout", 60),
        config.integer("mem_stats_period_seconds", 10));
  }

  /** The cdrom bus the config drive uses: ide on pc (i440fx), sata on q35 (which has no ide). */
  public String cdromBus() {
    return machineType.equals("q35") ? "sata" : "ide";
  }

  public Path baseDir() {
    return instancesPath.resolve("_base");
  }

  public Path instanceDir(String uuid) {
    return instancesPath.resolve(uuid);
  }
}
