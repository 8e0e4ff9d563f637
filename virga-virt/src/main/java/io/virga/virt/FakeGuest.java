package io.virga.virt;

import io.virga.core.ConflictException;
import io.virga.core.PowerState;
import java.util.Arrays;
import java.util.Optional;

/** One guest of {@link FakeDriver}: its power state, saved state and console. */
final class FakeGuest {
  private final InstanceSpec spec;
  private final StringBuilder console = new StringBuilder();
  private PowerState power = PowerState.SHUTDOWN;
  private boolean saved;
  private boolean ignoresAcpi;
  private Optional<String> rescueImage = Optional.empty();

  FakeGuest(InstanceSpec spec) {
    this.spec = spec;
  }

  /** A guest re-created in place (rebuild): its console log goes on, as console.log does. */
  FakeGuest(InstanceSpec spec, FakeGuest previous) {
    this.spec = spec;
    this.console.append(previous.console(-1));
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

  /** Boots into the rescue image (present) or back into its own disk (empty). */
  synchronized void rescue(Optional<String> image) {
    rescueImage = image;
    boot();
    image.ifPresent(id -> console.append("VIRGA-RESCUE image=").append(id).append('\n'));
  }

  synchronized Optional<String> rescueImage() {
    return rescueImage;
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
