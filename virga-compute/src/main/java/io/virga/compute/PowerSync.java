package io.virga.compute;

import io.virga.core.ConductorApi;
import io.virga.core.Instance;
import io.virga.core.InstanceUpdate;
import io.virga.core.NotFoundException;
import io.virga.core.PowerState;
import io.virga.virt.ComputeDriver;
import io.virga.virt.LifecycleEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Power-state sync: the database's view of each instance against the hypervisor's, periodically and
 * on lifecycle events, with Nova's {@code _sync_instance_power_state} rules. A STOPPED event is
 * held for {@code lifecycle_event_delay} and dropped if any newer event for the instance arrives (a
 * reboot's STOPPED is followed by STARTED).
 */
final class PowerSync {
  private static final Logger log = LoggerFactory.getLogger(PowerSync.class);
  private final String host;
  private final ComputeDriver driver;
  private final ConductorApi conductor;
  private final InstanceFlows flows;
  private final TaskStates tasks;
  private final Submitter submitter;
  private final ScheduledExecutorService scheduler;
  private final Duration stoppedDelay;
  private final Map<String, ScheduledFuture<?>> held = new ConcurrentHashMap<>();

  /** Runs a task in the instance's queue (the manager's lock). */
  @FunctionalInterface
  interface Submitter {
    void submit(String uuid, String what, Runnable task);
  }

  PowerSync(
      String host,
      ComputeDriver driver,
      TaskStates tasks,
      InstanceFlows flows,
      Submitter submitter,
      ScheduledExecutorService scheduler,
      Duration stoppedDelay) {
    this.host = host;
    this.driver = driver;
    this.conductor = tasks.conductor();
    this.tasks = tasks;
    this.flows = flows;
    this.submitter = submitter;
    this.scheduler = scheduler;
    this.stoppedDelay = stoppedDelay;
  }

  /** Called on the driver's event thread: only hands the event on. */
  void onEvent(LifecycleEvent event) {
    String uuid = event.uuid();
    ScheduledFuture<?> previous = held.remove(uuid);
    if (previous != null && previous.cancel(false)) {
      log.debug("dropped a held STOPPED event of {} on {}", uuid, event.transition());
    }
    if (event.transition() == LifecycleEvent.Transition.STOPPED && !stoppedDelay.isZero()) {
      AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
      try {
        self.set(
            scheduler.schedule(
                () -> {
                  held.remove(uuid, self.get());
                  handle(event);
                },
                stoppedDelay.toMillis(),
                TimeUnit.MILLISECONDS));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // the agent is stopping: its next start syncs power states from the driver anyway
        log.debug("agent stopping: dropped a STOPPED event of {}", uuid);
        return;
      }
      held.put(uuid, self.get());
    } else {
      handle(event);
    }
  }

  private void handle(LifecycleEvent event) {
    PowerState p =
        switch (event.transition()) {
          case STOPPED -> PowerState.SHUTDOWN;
          case STARTED, RESUMED -> PowerState.RUNNING;
          case PAUSED -> PowerState.PAUSED;
          case SUSPENDED -> PowerState.SUSPENDED;
          case CRASHED -> PowerState.CRASHED;
        };
    log.info("instance {}: lifecycle event {}", event.uuid(), event.transition());
    submitter.submit(
        event.uuid(), "sync on " + event.transition(), () -> sync(event.uuid(), Optional.of(p)));
  }

  /** The periodic task: every instance of this host, each in its own queue. */
  void syncAll() {
    // the domains first: a domain spawned after this read cannot look like a stranger below
    Optional<List<String>> domains;
    try {
      domains = Optional.of(driver.listInstanceUuids());
    } catch (RuntimeException e) {
      log.warn("cannot list the hypervisor's domains: {}", e.toString());
      domains = Optional.empty();
    }
    List<Instance> mine;
    try {
      mine = conductor.instancesOnHost(host);
    } catch (RuntimeException e) {
      log.warn("power-state sync skipped: cannot list this host's instances: {}", e.toString());
      return;
    }
    for (Instance i : mine) {
      submitter.submit(i.uuid(), "periodic power sync", () -> sync(i.uuid(), Optional.empty()));
    }
    domains.ifPresent(d -> handleUnknownDomains(mine, d));
  }

  /**
   * Domains the hypervisor runs for instances this host does not own. One whose instance was
   * deleted while this agent was away (the API's local delete) is reaped — domain and files — as
   * Nova's running_deleted_instance_action=reap does; one the control plane has never heard of is
   * only reported, never destroyed by guesswork (it may belong to something else on this libvirt).
   */
  private void handleUnknownDomains(List<Instance> mine, List<String> domains) {
    java.util.Set<String> known =
        mine.stream().map(Instance::uuid).collect(java.util.stream.Collectors.toSet());
    for (String uuid : domains) {
      if (known.contains(uuid)) {
        continue;
      }
      Optional<Instance> deleted = deletedHere(uuid);
      if (deleted.isPresent()) {
        log.warn("instance {} was deleted while this host was away; removing its domain", uuid);
        submitter.submit(uuid, "reap deleted", () -> flows.reapDeleted(deleted.get()));
      } else {
        log.warn(
            "the hypervisor has a domain for instance {}, which this host does not own; "
                + "remove it by hand if it is not needed",
            uuid);
      }
    }
  }

  private Optional<Instance> deletedHere(String uuid) {
    try {
      Instance i = conductor.getInstance(uuid);
      return i.vmState() == io.virga.core.VmState.DELETED && i.host().equals(Optional.of(host))
          ? Optional.of(i)
          : Optional.empty();
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  /**
   * One instance. {@code eventPower}: what a lifecycle event said; the event is stale, and ignored,
   * when the hypervisor now says something else (a newer event follows).
   */
  void sync(String uuid, Optional<PowerState> eventPower) {
    if (eventPower.isPresent()
        && tasks.justSettled(uuid, eventPower.get())
        && flows.powerState(uuid) == eventPower.get()) {
      log.debug("event {} confirms the state our last action recorded", eventPower.get());
      return;
    }
    Instance i;
    try {
      i = conductor.getInstance(uuid);
    } catch (NotFoundException e) {
      return;
    }
    if (!i.host().equals(Optional.of(host))) {
      return; // moved away (migration); its new host syncs it
    }
    PowerState vmPower = flows.powerState(uuid);
    if (eventPower.isPresent() && eventPower.get() != vmPower) {
      log.debug("stale event ({} but the hypervisor says {})", eventPower.get(), vmPower);
      return;
    }
    if (i.taskState().isPresent()) {
      // never fight an action in progress
      log.debug("sync skipped: task {} in progress", i.taskState().get().value());
      return;
    }
    if (vmPower != i.powerState()) {
      Optional<Instance> updated =
          tasks.tryCas(uuid, Optional.empty(), InstanceUpdate.none().power(vmPower));
      if (updated.isEmpty()) {
        return; // a task started meanwhile
      }
      i = updated.get();
    }
    applyRules(i, vmPower);
  }

  private void applyRules(Instance i, PowerState vmPower) {
    switch (i.vmState()) {
      case BUILDING, RESCUED, RESIZED, SUSPENDED, ERROR -> {}
      case ACTIVE -> {
        if (vmPower == PowerState.SHUTDOWN || vmPower == PowerState.CRASHED) {
          log.warn("instance shut down by itself ({}); stopping it", vmPower);
          flows.syncStop(i, false);
        } else if (vmPower == PowerState.SUSPENDED) {
          log.warn("instance is suspended unexpectedly; stopping it");
          flows.syncStop(i, false);
        } else if (vmPower == PowerState.PAUSED) {
          log.warn("instance is paused unexpectedly; ignoring");
        } else if (vmPower == PowerState.NOSTATE) {
          log.warn("instance is unexpectedly not found on the hypervisor; ignoring");
        }
      }
      case STOPPED -> {
        if (vmPower != PowerState.NOSTATE
            && vmPower != PowerState.SHUTDOWN
            && vmPower != PowerState.CRASHED) {
          log.warn("instance is not stopped ({}); forcing it off", vmPower);
          flows.syncStop(i, true);
        }
      }
      case PAUSED -> {
        if (vmPower == PowerState.SHUTDOWN || vmPower == PowerState.CRASHED) {
          log.warn("paused instance shut down by itself; forcing it off");
          flows.syncStop(i, true);
        }
      }
      case SOFT_DELETED, DELETED -> {
        if (vmPower != PowerState.NOSTATE && vmPower != PowerState.SHUTDOWN) {
          log.warn("instance is not deleted on the hypervisor ({})", vmPower);
        }
      }
      default -> {}
    }
  }

  void close() {
    held.values().forEach(f -> f.cancel(false));
    held.clear();
  }
}
