package io.virga.api;

import io.virga.core.ComputeAgentApi;
import io.virga.core.ConflictException;
import io.virga.core.ImageMeta;
import io.virga.core.InstanceAction;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.InvalidStateException;
import io.virga.core.NoValidHostException;
import io.virga.core.NotFoundException;
import io.virga.core.QuotaExceededException;
import io.virga.core.TaskState;
import io.virga.core.VirgaException;
import io.virga.core.VmState;
import io.virga.db.ComputeServiceRecord;
import io.virga.db.FlavorRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.InstanceRepository;
import io.virga.db.KeyPairRecord;
import io.virga.db.NewInstance;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * What the compute API does to servers (Nova's compute/api.py): create with quota checks then
 * schedule and cast to the chosen host's agent; state-checked actions that set their task_state by
 * compare-and-swap before casting; delete in any state.
 */
final class ServerOperations implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerOperations.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ComputeDeps deps;
  private final ExecutorService builder;
  private final Map<String, Object> projectLocks = new ConcurrentHashMap<>();

  ServerOperations(ComputeDeps deps) {
    this.deps = deps;
    this.builder =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "virga-schedule");
              t.setDaemon(true);
              return t;
            });
  }

  /** Result of a create: the instances (first is the one the reply describes) and the password. */
  record Created(List<InstanceRecord> instances, String adminPass, String reservationId) {}

  Created create(AuthContext caller, ServerCreateRequest req, String requestId) {
    String project = caller.project();
    FlavorRecord flavor =
        deps.flavors()
            .find(req.flavorRef())
            .filter(f -> f.isPublic() || caller.isAdmin() || flavorShared(f, project))
            .orElseThrow(
                () ->
                    new InvalidInputException(
                        "Flavor " + req.flavorRef() + " could not be found."));
    if (flavor.disabled()) {
      throw new InvalidInputException("Flavor " + req.flavorRef() + " is disabled.");
    }
    ImageMeta image = deps.images().bootable(caller, req.imageRef());
    checkImageFits(image, flavor);
    Optional<KeyPairRecord> key =
        req.keyName()
            .map(
                n -> {
                  try {
                    return deps.keyPairs().get(caller.userId(), n);
                  } catch (NotFoundException e) {
                    throw new InvalidInputException("Invalid key_name provided.");
                  }
                });
    if (req.availabilityZone().isPresent()
        && deps.hosts().services().stream()
            .noneMatch(s -> s.availabilityZone().equals(req.availabilityZone().get()))) {
      throw new InvalidInputException(
          "The requested availability zone is not available: " + req.availabilityZone().get());
    }
    String reservationId = "r-" + Long.toString(RANDOM.nextLong() >>> 1, 36);
    String adminPass = req.adminPass().orElseGet(ServerOperations::password);
    List<InstanceRecord> created;
    synchronized (projectLocks.computeIfAbsent(project, p -> new Object())) {
      Map<String, Long> limits = deps.quotas().limits(project);
      long metaLimit = limits.getOrDefault("metadata_items", 128L);
      if (metaLimit >= 0 && req.metadata().size() > metaLimit) {
        throw new QuotaExceededException(
            "Quota exceeded for metadata_items: Requested "
                + req.metadata().size()
                + ", but the limit is "
                + metaLimit);
      }
      int count = allowedCount(project, flavor, req, limits);
      List<NewInstance> rows = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        String name = count > 1 ? req.name() + "-" + (i + 1) : req.name();
        String uuid = UUID.randomUUID().toString();
        rows.add(
            new NewInstance(
                uuid,
                name,
                req.description(),
                hostname(name, uuid),
                project,
                caller.userId(),
                flavor.flavor(),
                image.id(),
                req.availabilityZone(),
                req.metadata(),
                req.tags(),
                req.userData(),
                key.map(KeyPairRecord::name),
                key.map(KeyPairRecord::publicKey),
                req.configDrive(),
                i,
                reservationId));
      }
      created = deps.instances().createAll(rows);
    }
    for (InstanceRecord r : created) {
      deps.actions().start(r.uuid(), requestId, "create", project, caller.userId());
      builder.execute(() -> scheduleAndBuild(r, requestId));
    }
    return new Created(created, adminPass, reservationId);
  }

  private boolean flavorShared(FlavorRecord f, String project) {
    return deps.flavors().list(Optional.of(project), Optional.of(false)).stream()
        .anyMatch(x -> x.id() == f.id());
  }

  private static void checkImageFits(ImageMeta image, FlavorRecord flavor) {
    if (flavor.flavor().memoryMb() < image.minRamMb()) {
      throw new InvalidInputException("Flavor's memory is too small for requested image.");
    }
    long rootBytes = flavor.flavor().rootGb() * 1024L * 1024L * 1024L;
    if (flavor.flavor().rootGb() > 0
        && (flavor.flavor().rootGb() < image.minDiskGb()
            || image.virtualSize() > rootBytes
            || image.size() > rootBytes)) {
      throw new InvalidInputException(
          "Flavor's disk is too small for requested image. Flavor disk is "
              + rootBytes
              + " bytes, image is "
              + Math.max(image.virtualSize(), image.size())
              + " bytes.");
    }
  }

  private int allowedCount(
      String project, FlavorRecord flavor, ServerCreateRequest req, Map<String, Long> limits) {
    InstanceRepository.Usage used = deps.instances().projectUsage(project);
    int fits = req.maxCount();
    fits = Math.min(fits, room(limits.get("instances"), used.instances(), 1));
    fits = Math.min(fits, room(limits.get("cores"), used.cores(), flavor.flavor().vcpus()));
    fits = Math.min(fits, room(limits.get("ram"), used.ramMb(), flavor.flavor().memoryMb()));
    if (fits >= req.minCount()) {
      return fits;
    }
    for (String[] r :
        new String[][] {
          {"instances", "1", Long.toString(used.instances())},
          {"cores", Integer.toString(flavor.flavor().vcpus()), Long.toString(used.cores())},
          {"ram", Integer.toString(flavor.flavor().memoryMb()), Long.toString(used.ramMb())}
        }) {
      long limit = limits.getOrDefault(r[0], -1L);
      long each = Long.parseLong(r[1]);
      long usedNow = Long.parseLong(r[2]);
      if (limit >= 0 && usedNow + each * req.minCount() > limit) {
        throw new QuotaExceededException(
            "Quota exceeded for "
                + r[0]
                + ": Requested "
                + each * req.minCount()
                + ", but already used "
                + usedNow
                + " of "
                + limit
                + " "
                + r[0]);
      }
    }
    return req.minCount();
  }

  private static int room(Long limit, long used, long each) {
    if (limit == null || limit < 0 || each == 0) {
      return Integer.MAX_VALUE;
    }
    return (int) Math.max(0, (limit - used) / each);
  }

  /** Nova's sanitize_hostname: a DNS label from the display name. */
  static String hostname(String displayName, String uuid) {
    String h = displayName.toLowerCase(Locale.ROOT).replaceAll("[ _]", "-");
    h = h.replaceAll("[^a-z0-9.-]", "");
    h = h.replaceAll("^[.-]+", "");
    if (h.length() > 63) {
      h = h.substring(0, 63);
    }
    h = h.replaceAll("[.-]+$", "");
    return h.isEmpty() ? "server-" + uuid : h;
  }

  private static String password() {
    String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private void scheduleAndBuild(InstanceRecord r, String requestId) {
    MDC.put("request_id", requestId);
    MDC.put("instance_uuid", r.uuid());
    try {
      deps.actions()
          .eventStart(r.uuid(), requestId, "conductor_schedule_and_build_instances", null);
      try {
        // the row may have been deleted while queued
        InstanceRecord current = deps.instances().find(r.uuid()).orElse(r);
        if (current.deleted() || current.taskState().orElse(null) != TaskState.SCHEDULING) {
          LOG.info("instance {} no longer waits for scheduling; not building it", r.uuid());
          deps.actions()
              .eventFinish(
                  r.uuid(), requestId, "conductor_schedule_and_build_instances", Optional.empty());
          return;
        }
        var node = deps.scheduler().schedule(current);
        deps.actions()
            .eventFinish(
                r.uuid(), requestId, "conductor_schedule_and_build_instances", Optional.empty());
        deps.agents().forHost(node.host()).buildAndRunInstance(r.uuid());
      } catch (NoValidHostException e) {
        fail(r, requestId, 500, e.getMessage());
      } catch (RuntimeException e) {
        LOG.error("instance {}: scheduling failed", r.uuid(), e);
        fail(r, requestId, 500, "Build of instance " + r.uuid() + " failed: " + e.getMessage());
      }
    } finally {
      MDC.remove("request_id");
      MDC.remove("instance_uuid");
    }
  }

  private void fail(InstanceRecord r, String requestId, int code, String message) {
    deps.instances().recordFault(r.uuid(), code, message, Optional.empty(), Optional.empty());
    deps.instances()
        .compareAndSwap(
            r.uuid(),
            InstanceUpdate.none().vm(VmState.ERROR).clearTask(),
            List.of(Optional.of(TaskState.SCHEDULING)));
    deps.actions()
        .eventFinish(
            r.uuid(), requestId, "conductor_schedule_and_build_instances", Optional.of(message));
  }

  /**
   * At start: instances a previous run accepted but never assigned to a host (it stopped between
   * the create reply and the scheduler's claim) will never be built; they go to ERROR with a fault
   * saying so, as an agent's recovery does for builds it lost. Instances with a host are their
   * agent's to recover.
   */
  int recoverUnscheduled() {
    int n = 0;
    for (InstanceRecord r :
        deps.instances()
            .list(
                new io.virga.db.InstanceFilter(
                    Optional.empty(),
                    Optional.empty(),
                    Optional.of(java.util.Set.of(VmState.BUILDING)),
                    Optional.empty(),
                    false))) {
      if (r.host().isEmpty() && r.taskState().orElse(null) == TaskState.SCHEDULING) {
        String message =
            "Build of instance "
                + r.uuid()
                + " was interrupted: the control plane stopped before it was scheduled";
        deps.instances().recordFault(r.uuid(), 500, message, Optional.empty(), Optional.empty());
        if (deps.instances()
            .compareAndSwap(
                r.uuid(),
                InstanceUpdate.none().vm(VmState.ERROR).clearTask(),
                List.of(Optional.of(TaskState.SCHEDULING)))
            .isPresent()) {
          LOG.warn("instance {}: {}", r.uuid(), message);
          n++;
        }
      }
    }
    return n;
  }

  /** An instance the caller may see: its own project's, or any for an admin; else 404. */
  InstanceRecord visible(AuthContext caller, String uuid) {
    InstanceRecord r = deps.instances().get(uuid);
    if (!Policy.mayAccess(caller, r.projectId())) {
      throw new NotFoundException("Instance " + uuid + " could not be found.");
    }
    return r;
  }

  /** A power/lifecycle action: state check, task_state CAS, instance action, cast to the host. */
  void act(AuthContext caller, String uuid, InstanceAction action, String requestId) {
    InstanceRecord r = visible(caller, uuid);
    action.check(uuid, r.vmState(), r.taskState());
    TaskState task = startingTask(action);
    if (r.host().isEmpty()) {
      if (action == InstanceAction.STOP) {
        // never scheduled (e.g. no valid host): nothing runs, so stopping is a state change
        swap(r, InstanceUpdate.none().vm(VmState.STOPPED).clearTask(), action);
        deps.actions().start(uuid, requestId, "stop", r.projectId(), caller.userId());
        return;
      }
      throw new ConflictException(
          "Cannot '" + action.apiName() + "' instance " + uuid + ": it is not on any host");
    }
    swap(r, InstanceUpdate.none().task(task), action);
    deps.actions().start(uuid, requestId, actionName(action), r.projectId(), caller.userId());
    ComputeAgentApi agent = deps.agents().forHost(r.host().get());
    Consumer<String> cast =
        switch (action) {
          case START -> agent::startInstance;
          case STOP -> agent::stopInstance;
          case REBOOT_SOFT -> u -> agent.rebootInstance(u, false);
          case REBOOT_HARD -> u -> agent.rebootInstance(u, true);
          case PAUSE -> agent::pauseInstance;
          case UNPAUSE -> agent::unpauseInstance;
          case SUSPEND -> agent::suspendInstance;
          case RESUME -> agent::resumeInstance;
          default -> throw new IllegalArgumentException("not a power action: " + action);
        };
    cast.accept(uuid);
  }

  /** CAS from the task state just checked: of two racing requests only one passes. */
  private void swap(InstanceRecord r, InstanceUpdate update, InstanceAction action) {
    if (deps.instances().compareAndSwap(r.uuid(), update, List.of(r.taskState())).isEmpty()) {
      InstanceRecord now = deps.instances().get(r.uuid());
      action.check(r.uuid(), now.vmState(), now.taskState());
      throw InvalidStateException.of(
          action, r.uuid(), "task_state", now.taskState().map(TaskState::value).orElse("None"));
    }
  }

  static TaskState startingTask(InstanceAction a) {
    return switch (a) {
      case START -> TaskState.POWERING_ON;
      case STOP -> TaskState.POWERING_OFF;
      case REBOOT_SOFT -> TaskState.REBOOTING;
      case REBOOT_HARD -> TaskState.REBOOTING_HARD;
      case PAUSE -> TaskState.PAUSING;
      case UNPAUSE -> TaskState.UNPAUSING;
      case SUSPEND -> TaskState.SUSPENDING;
      case RESUME -> TaskState.RESUMING;
      default -> throw new IllegalArgumentException("no starting task for " + a);
    };
  }

  private static String actionName(InstanceAction a) {
    return switch (a) {
      case REBOOT_SOFT, REBOOT_HARD -> "reboot";
      default -> a.apiName();
    };
  }

  /**
   * Delete in any state. Without a host (never scheduled) or when the host's compute service is
   * down, the instance is deleted locally (Nova's local delete); else the agent terminates it and
   * reports it destroyed.
   */
  void delete(AuthContext caller, String uuid, String requestId) {
    InstanceRecord r = visible(caller, uuid);
    deps.actions().start(uuid, requestId, "delete", r.projectId(), caller.userId());
    Optional<ComputeServiceRecord> svc = r.host().flatMap(h -> deps.hosts().service(h));
    boolean up =
        svc.map(s -> s.isUp(Instant.now(), deps.options().serviceDownTimeSeconds())).orElse(false);
    if (r.host().isEmpty() || !up) {
      if (r.host().isPresent()) {
        LOG.warn(
            "instance {}: compute service on {} is down; deleting locally (the agent removes the"
                + " domain and files when it starts)",
            uuid,
            r.host().get());
      }
      deps.instances().markDeleted(uuid);
      return;
    }
    deps.instances().compareAndSwap(uuid, InstanceUpdate.none().task(TaskState.DELETING), null);
    deps.agents().forHost(r.host().get()).terminateInstance(uuid);
  }

  String consoleOutput(AuthContext caller, String uuid, int lines) {
    InstanceRecord r = visible(caller, uuid);
    if (r.host().isEmpty() || r.vmState() == VmState.BUILDING) {
      throw new ConflictException(
          "Instance " + uuid + " is not ready yet (vm_state " + r.vmState().value() + ")");
    }
    try {
      return deps.agents().forHost(r.host().get()).getConsoleOutput(uuid, lines);
    } catch (VirgaException e) {
      if (e.httpStatus() == 404) {
        throw new NotFoundException("Guest does not have a console available.");
      }
      throw e;
    }
  }

  @Override
  public void close() {
    builder.shutdown();
    try {
      builder.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
