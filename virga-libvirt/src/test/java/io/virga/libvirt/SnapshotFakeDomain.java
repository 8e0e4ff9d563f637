package io.virga.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An in-memory domain that keeps libvirt's rules the snapshot flow depends on: a persistent domain
 * refuses a shallow copy, a copy job must be aborted before another starts, managedSave stops a
 * running domain and start resumes it. Its "mirror" copies the disk file into the delta, which is
 * what a shallow copy of a qcow2 overlay produces.
 */
class SnapshotFakeDomain implements SnapshotDomain {
  final List<String> calls = new ArrayList<>();
  final Path disk;
  PowerState state;
  boolean persistent = true;
  String xml;
  Optional<Guest.BlockJob> job = Optional.empty();
  int pollsUntilReady = 2;
  RuntimeException failOn;
  String failStep = "";

  SnapshotFakeDomain(Path disk, String format, PowerState state) {
    this.disk = disk;
    this.state = state;
    this.xml =
        "<domain><name>fake</name><devices><disk type='file' device='disk'><driver name='qemu'"
            + " type='"
            + format
            + "'/><source file='"
            + disk
            + "'/><target dev='vda' bus='virtio'/></disk></devices></domain>";
  }

  private void step(String name) {
    calls.add(name);
    if (name.equals(failStep)) {
      throw failOn != null ? failOn : new SnapshotException("injected failure at " + name);
    }
  }

  @Override
  public String name() {
    return "fake";
  }

  @Override
  public PowerState powerState() {
    return state;
  }

  @Override
  public boolean isPersistent() {
    return persistent;
  }

  @Override
  public String persistentXml() {
    return xml;
  }

  @Override
  public String liveXml() {
    if (job.isPresent() && job.get().ready()) {
      return xml.replace("</disk>", "<mirror ready='yes'/></disk>");
    }
    return xml;
  }

  @Override
  public void undefineKeepRunning() {
    step("undefine");
    persistent = false;
  }

  @Override
  public void define(String definedXml) {
    step("define");
    persistent = true;
    xml = definedXml;
  }

  @Override
  public void blockCopyShallowReuseExternal(String dev, String dest) {
    step("blockRebase");
    if (persistent) {
      throw new SnapshotException("Requested operation is not valid: domain is not transient");
    }
    if (job.isPresent()) {
      throw new SnapshotException("disk vda already in active block job");
    }
    if (state != PowerState.RUNNING && state != PowerState.PAUSED) {
      throw new SnapshotException("domain is not running");
    }
    try {
      Files.copy(disk, Path.of(dest), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    job = Optional.of(new Guest.BlockJob(0, 100));
  }

  @Override
  public Optional<Guest.BlockJob> blockJobInfo(String dev) {
    if (job.isPresent() && pollsUntilReady-- <= 0) {
      job = Optional.of(new Guest.BlockJob(100, 100));
    }
    return job;
  }

  @Override
  public void blockJobAbort(String dev) {
    step("blockJobAbort");
    if (job.isEmpty()) {
      throw new SnapshotException("no active block job on vda");
    }
    job = Optional.empty();
  }

  @Override
  public void managedSave() {
    step("managedSave");
    state = PowerState.SUSPENDED;
  }

  @Override
  public void start(boolean paused) {
    step(paused ? "startPaused" : "start");
    state = paused ? PowerState.PAUSED : PowerState.RUNNING;
  }
}
