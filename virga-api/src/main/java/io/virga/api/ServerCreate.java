package io.virga.api;

import io.virga.core.BuildRequest;
import io.virga.core.ImageMeta;
import io.virga.core.InstanceUpdate;
import io.virga.core.InvalidInputException;
import io.virga.core.NoValidHostException;
import io.virga.core.NotFoundException;
import io.virga.core.QuotaExceededException;
import io.virga.core.TaskState;
import io.virga.core.VmState;
import io.virga.db.FlavorRecord;
import io.virga.db.InstanceRecord;
import io.virga.db.InstanceRepository;
import io.virga.db.KeyPairRecord;
import io.virga.db.NewInstance;
import java.security.SecureRandom;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * {@code POST /servers} behind the validation (Nova's compute/api.py create and the conductor's
 * schedule_and_build_instances): flavor, image, key pair and zone checks, the quota check and the
 * instance rows under a per-project lock, then off the request thread the scheduler's claim and the
 * cast to the chosen host's agent; no host → ERROR with the scheduler's fault.
 */
final class ServerCreate implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServerCreate.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ComputeDeps deps;
  private final ExecutorService builder;

  /** Builds accepted here and not yet scheduled: never "lost", whatever their age. */
  private final java.util.Set<String> queued = ConcurrentHashMap.newKeySet();

  /** This process's scheduling lease: the owner of the builds it accepts until they get a host. */
  private final String leaseOwner = "api-" + UUID.randomUUID();

  ServerCreate(ComputeDeps deps) {
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
    return create(caller, req, requestId, rows -> {});
  }

  /**
   * @param beforeScheduling runs on the new rows before any is scheduled (server group membership)
   */
  Created create(
      AuthContext caller,
      ServerCreateRequest req,
      String requestId,
      java.util.function.Consumer<List<InstanceRecord>> beforeScheduling) {
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
    req.destination().ifPresent(d -> checkDestination(caller, d));
    if (req.availabilityZone().isPresent()
        && deps.hosts().services().stream()
            .noneMatch(s -> s.availabilityZone().equals(req.availabilityZone().get()))) {
      throw new InvalidInputException(
          "The requested availability zone is not available: " + req.availabilityZone().get());
    }
    String reservationId = "r-" + Long.toString(RANDOM.nextLong() >>> 1, 36);
    String adminPass = req.adminPass().orElseGet(ServerCreate::password);
    Map<String, Long> limits = deps.quotas().limits(project);
    long metaLimit = limits.getOrDefault("metadata_items", 128L);
    if (metaLimit >= 0 && req.metadata().size() > metaLimit) {
      throw new QuotaExceededException(
          "Quota exceeded for metadata_items: Requested "
              + req.metadata().size()
              + ", but the limit is "
              + metaLimit);
    }
    // quota check and rows in one transaction under the project's lock: holds across processes
    List<InstanceRecord> created =
        deps.instances()
            .createWithinQuota(
                project,
                Optional.of(leaseOwner),
                used -> {
                  int count = allowedCount(flavor, req, limits, used);
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
                            reservationId,
                            req.accessIpV4(),
                            req.accessIpV6()));
                  }
                  return rows;
                });
    // Nova's RequestSpec.availability_zone: only a requested zone binds later moves
    req.availabilityZone()
        .ifPresent(z -> created.forEach(r -> deps.hosts().recordRequestedZone(r.uuid(), z)));
    beforeScheduling.accept(created);
    for (InstanceRecord r : created) {
      deps.actions().start(r.uuid(), requestId, "create", project, caller.userId());
      queued.add(r.uuid());
    }
    // one scheduling pass for the request's instances (Nova's select_destinations with
    // num_instances): the hosts are read once for all of them
    builder.execute(
        () -> {
          Scheduler.Pass pass = deps.scheduler().pass();
          for (InstanceRecord r : created) {
            try {
              scheduleAndBuild(pass, r, image, requestId, req.destination(), adminPass);
            } finally {
              queued.remove(r.uuid());
            }
          }
        });
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

  private static int allowedCount(
      FlavorRecord flavor,
      ServerCreateRequest req,
      Map<String, Long> limits,
      InstanceRepository.Usage used) {
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

  /** Admin only (Nova's forced_host / requested_destination policies); the host must exist. */
  private void checkDestination(AuthContext caller, Destination d) {
    if (!caller.isAdmin()) {
      throw new io.virga.core.ForbiddenException(
          d.forced()
              ? "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed."
              : "Policy doesn't allow compute:servers:create:requested_destination to be"
                  + " performed.");
    }
    if (deps.hosts().nodes().stream().noneMatch(d::matches)) {
      throw new InvalidInputException("Compute host " + d.describe() + " could not be found.");
    }
  }

  private void scheduleAndBuild(
      Scheduler.Pass pass,
      InstanceRecord r,
      ImageMeta image,
      String requestId,
      Optional<Destination> dest,
      String adminPass) {
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
        Scheduler.Placed placed = pass.place(current, dest, host -> true);
        deps.actions()
            .eventFinish(
                r.uuid(), requestId, "conductor_schedule_and_build_instances", Optional.empty());
        // the cast carries what the build needs (instance as claimed, image, group), as Nova's
        // build_and_run_instance does; admin_password is for the config drive only, never stored
        Optional<BuildRequest> request =
            placed
                .claimed()
                .filter(x -> !x.deleted())
                .map(
                    x ->
                        new BuildRequest(
                            x.toInstance(),
                            Optional.of(image),
                            placed.group().isEmpty()
                                ? Optional.empty()
                                : BuildReschedule.serverGroupOf(deps, r.uuid())));
        deps.agents()
            .forHost(placed.node().host())
            .buildAndRunInstance(r.uuid(), request, Optional.of(adminPass));
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
   * Renews this process's scheduling lease (one row), so that no API process takes the builds it
   * still has queued or is scheduling for lost, however long the queue.
   */
  void renewSchedulingLease() {
    deps.instances().renewSchedulingLease(leaseOwner);
  }

  /**
   * Builds accepted but never assigned to a host whose lease is older than {@code minAge} (the API
   * process that accepted them stopped between the create reply and the scheduler's claim) will
   * never be built; they go to ERROR with a fault saying so, as an agent's recovery does for builds
   * it lost. Each is one conditional UPDATE, so a build another API process renews or claims
   * meanwhile is left alone. Instances with a host are their agent's to recover.
   */
  int recoverUnscheduled(java.time.Duration minAge) {
    renewSchedulingLease();
    java.util.Set<String> stillQueued = java.util.Set.copyOf(queued);
    List<String> failed =
        deps.instances()
            .failUnscheduledBuilds(
                java.time.Instant.now().minus(minAge),
                Optional.of(leaseOwner),
                stillQueued,
                uuid ->
                    "Build of instance "
                        + uuid
                        + " was interrupted: the control plane stopped before it was scheduled");
    for (String uuid : failed) {
      LOG.warn(
          "instance {}: its build waited for a host longer than {} s with no API process"
              + " scheduling it; set to ERROR",
          uuid,
          minAge.toSeconds());
    }
    return failed.size();
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
