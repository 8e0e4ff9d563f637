package io.virga.virt;

import io.virga.core.ConflictException;
import io.virga.core.PowerState;
import java.util.Arrays;

/** One guest of {@link FakeDriver}: its power state, saved state and console. */
final class FakeGuest {
  private final InstanceSpec spec;
  private final StringBuilder console = new StringBuilder();
  private PowerState power = PowerState.SHUTDOWN;
  private boolean saved;
  private boolean ignoresAcpi;

  FakeGuest(InstanceSpec spec) {
    this.spec = spec;
  }

  InstanceSpec spec() {
    return spec;
  }

  synchronized PowerState power() {
    return power;
  }

  synchronized void power(PowerState p) {
    power = p;
    saved = false;
  }

  synchronized boolean saved() {
    return saved;
  }

  synchronized boolean ignoresAcpi() {
    return ignoresAcpi;
  }

  synchronized void ignoreAcpi(boolean ignore) {
    ignoresAcpi = ignore;
  }

  /** A fresh boot: the tiny guest's boot line, as if its config drive were present. */
  synchronized void boot() {
    power = PowerState.RUNNING;
    saved = false;
    console
        .append("VIRGA-GUEST-UP uuid=")
        .append(spec.uuid())
        .append(" hostname=")
        .append(spec.hostname())
        .append('\n');
  }

  /** managedSave: libvirt shows a saved domain as shut off. */
  synchronized void save() {
    power = PowerState.SHUTDOWN;
    saved = true;
  }

  synchronized void restore() {
    power = PowerState.RUNNING;
    saved = false;
  }

  synchronized void expect(String step, PowerState... allowed) {
    if (!Arrays.asList(allowed).contains(power)) {
      throw new ConflictException(
          step
              + ": instance "
              + spec.uuid()
              + " is "
              + power.name().toLowerCase(java.util.Locale.ROOT)
              + ", expected "
              + Arrays.toString(allowed).toLowerCase(java.util.Locale.ROOT));
    }
  }

  synchronized String console(int maxBytes) {
    int from = maxBytes < 0 ? 0 : Math.max(0, console.length() - maxBytes);
    return console.substring(from);
  }

  synchronized InstanceInfo info() {
    long kb = spec.flavor().memoryMb() * 1024L;
    return new InstanceInfo(power, kb, kb, spec.flavor().vcpus(), 0L);
  }
}
