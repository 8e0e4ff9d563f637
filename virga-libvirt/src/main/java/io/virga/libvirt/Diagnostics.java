package io.virga.libvirt;

import io.virga.core.InstanceDiagnostics;
import io.virga.core.NotFoundException;
import io.virga.virt.InstanceInfo;
import io.virga.virt.InstanceSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Nova's {@code get_instance_diagnostics} for libvirt: domain info, per-vCPU time, the balloon's
 * memory statistics and each disk's block statistics (by the devices the disk mapping gives the
 * instance). A disk libvirt cannot count (an empty cdrom) shows -1, as Nova does.
 */
final class Diagnostics {
  /** libvirt's virDomainMemoryStatTags, by number. */
  private static final String[] MEMORY_TAGS = {
    "swap_in",
    "swap_out",
    "major_fault",
    "minor_fault",
    "unused",
    "available",
    "actual",
    "rss",
    "usable",
    "last_update",
    "disk_caches",
    "hugetlb_pgalloc",
    "hugetlb_pgfail"
  };

  private final LibvirtDriverContext ctx;

  Diagnostics(LibvirtDriverContext ctx) {
    this.ctx = ctx;
  }

  InstanceDiagnostics get(InstanceSpec spec) {
    Guest g =
        ctx.host
            .lookup(spec.uuid())
            .orElseThrow(
                () -> new NotFoundException("instance " + spec.uuid() + " is not on this host"));
    try (g) {
      InstanceInfo info = g.info();
      List<InstanceDiagnostics.Cpu> cpus = new ArrayList<>();
      if (g.isActive()) {
        long[] times = g.vcpuTimes();
        for (int i = 0; i < times.length; i++) {
          cpus.add(new InstanceDiagnostics.Cpu(i, times[i]));
        }
      }
      Map<String, Long> memory = new LinkedHashMap<>();
      if (g.isActive()) {
        g.memoryStats()
            .forEach(
                (tag, v) ->
                    memory.put(tag < MEMORY_TAGS.length ? MEMORY_TAGS[tag] : "tag" + tag, v));
      }
      Path dir = ctx.opts.instanceDir(spec.uuid());
      boolean configDrive = Files.exists(dir.resolve(DiskMapping.CONFIG));
      List<InstanceDiagnostics.Disk> disks = new ArrayList<>();
      for (DiskMapping.Entry e :
          DiskMapping.forInstance(spec.flavor(), configDrive, ctx.opts.cdromBus()).entries()) {
        disks.add(disk(g, e.dev()));
      }
      return new InstanceDiagnostics(
          InstanceDiagnostics.stateName(info.powerState()),
          "libvirt",
          ctx.opts.virtType(),
          configDrive,
          cpus,
          info.maxMemoryKb(),
          info.memoryKb(),
          memory,
          disks);
    }
  }

  private static InstanceDiagnostics.Disk disk(Guest g, String dev) {
    try {
      org.libvirt.DomainBlockStats s = g.blockStats(dev);
      return new InstanceDiagnostics.Disk(dev, s.rd_bytes, s.rd_req, s.wr_bytes, s.wr_req, s.errs);
    } catch (LibvirtException e) {
      return new InstanceDiagnostics.Disk(dev, -1, -1, -1, -1, -1);
    }
  }
}
