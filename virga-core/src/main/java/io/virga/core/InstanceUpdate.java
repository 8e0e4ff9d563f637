package io.virga.core;

import java.util.Optional;

/**
 * A partial update of an instance's states; empty fields are left as they are. {@code taskState}
 * uses {@link #clearTask()} to write "no task".
 */
public record InstanceUpdate(
    Optional<VmState> vmState,
    Optional<Optional<TaskState>> taskState,
    Optional<PowerState> powerState,
    Optional<String> host,
    Optional<Integer> progress,
    boolean markLaunched) {

  public static InstanceUpdate none() {
    return new InstanceUpdate(
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        false);
  }

  public InstanceUpdate vm(VmState s) {
    return new InstanceUpdate(Optional.of(s), taskState, powerState, host, progress, markLaunched);
  }

  public InstanceUpdate task(TaskState s) {
    return new InstanceUpdate(
        vmState, Optional.of(Optional.of(s)), powerState, host, progress, markLaunched);
  }

  public InstanceUpdate clearTask() {
    return new InstanceUpdate(
        vmState, Optional.of(Optional.empty()), powerState, host, progress, markLaunched);
  }

  public InstanceUpdate power(PowerState s) {
    return new InstanceUpdate(vmState, taskState, Optional.of(s), host, progress, markLaunched);
  }

  public InstanceUpdate onHost(String h) {
    return new InstanceUpdate(
        vmState, taskState, powerState, Optional.of(h), progress, markLaunched);
  }

  public InstanceUpdate progress(int p) {
    return new InstanceUpdate(vmState, taskState, powerState, host, Optional.of(p), markLaunched);
  }

  public InstanceUpdate launched() {
    return new InstanceUpdate(vmState, taskState, powerState, host, progress, true);
  }
}
