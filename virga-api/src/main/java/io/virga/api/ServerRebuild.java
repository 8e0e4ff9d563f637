package io.virga.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.ImageMeta;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.QuotaExceededException;
import io.virga.db.InstanceLifecycleRepository;
import io.virga.db.InstanceRecord;
import io.virga.db.KeyPairRecord;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The rebuild body (Nova's {@code rebuild} schema per microversion) and what the API checks and
 * writes before casting: the image must be bootable and fit the flavor; name, metadata, user data
 * (2.57), key pair (2.54, null removes it) and description (2.19) replace the instance's.
 */
final class ServerRebuild {
  private static final Set<String> ALWAYS =
      Set.of(
          "imageRef",
          "name",
          "metadata",
          "adminPass",
          "preserve_ephemeral",
          "OS-DCF:diskConfig",
          "accessIPv4",
          "accessIPv6");

  private final ComputeDeps deps;
  private final InstanceLifecycleRepository lifecycle;

  ServerRebuild(ComputeDeps deps, InstanceLifecycleRepository lifecycle) {
    this.deps = deps;
    this.lifecycle = lifecycle;
  }

  record Request(
      String imageRef,
      Optional<String> name,
      Optional<Map<String, String>> metadata,
      Optional<String> adminPass,
      boolean preserveEphemeral,
      Optional<Optional<String>> userData,
      Optional<Optional<String>> keyName,
      Optional<Optional<String>> description) {}

  static Request parse(ObjectNode b, Microversion v) {
    for (var it = b.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      boolean known =
          ALWAYS.contains(k)
              || (k.equals("description") && v.atLeast(2, 19))
              || (k.equals("key_name") && v.atLeast(2, 54))
              || (k.equals("user_data") && v.atLeast(2, 57))
              || (k.equals("personality") && !v.atLeast(2, 57));
      if (!known) {
        throw new InvalidInputException(
            "Invalid input for field/attribute rebuild. Additional properties are not allowed ('"
                + k
                + "' was unexpected)");
      }
    }
    if (b.has("personality") && !b.get("personality").isEmpty()) {
      throw new InvalidInputException(
          "personality (file injection) is not supported: use user_data or the config drive");
    }
    String image = ServerCreateRequest.lastSegment(ApiJson.requireString(b, "imageRef"));
    Optional<String> name = ApiJson.optString(b, "name");
    if (name.isPresent()
        && (name.get().isEmpty()
            || name.get().length() > 255
            || !name.get().strip().equals(name.get()))) {
      throw new InvalidInputException(
          "Invalid input for field/attribute name: 1 to 255 characters without leading or"
              + " trailing whitespace");
    }
    Optional<Map<String, String>> metadata =
        b.has("metadata")
            ? Optional.of(ServerCreateRequest.metadata(b.get("metadata")))
            : Optional.empty();
    boolean preserve = ApiJson.optBoolean(b, "preserve_ephemeral").orElse(false);
    Optional<Optional<String>> userData =
        b.has("user_data") ? Optional.of(ServerCreateRequest.userData(b)) : Optional.empty();
    Optional<Optional<String>> key =
        b.has("key_name") ? Optional.of(ApiJson.optString(b, "key_name")) : Optional.empty();
    Optional<Optional<String>> description =
        b.has("description") ? Optional.of(ApiJson.optString(b, "description")) : Optional.empty();
    if (description.flatMap(d -> d).map(d -> d.length() > 255).orElse(false)) {
      throw new InvalidInputException("description is longer than 255 characters");
    }
    return new Request(
        image,
        name,
        metadata,
        ApiJson.optString(b, "adminPass"),
        preserve,
        userData,
        key,
        description);
  }

  /** What the checks resolved, written only once the task-state swap has won. */
  record Checked(ImageMeta image, Optional<Optional<InstanceLifecycleRepository.KeyPair>> key) {}

  /**
   * Nova's checks before anything changes: the image visible, active and fitting the instance's
   * flavor, the metadata quota, the key pair (all 400).
   */
  Checked check(AuthContext caller, InstanceRecord r, Request req) {
    ImageMeta image = deps.images().bootable(caller, req.imageRef());
    var flavor = r.flavor();
    if (flavor.memoryMb() < image.minRamMb()) {
      throw new InvalidInputException("Flavor's memory is too small for requested image.");
    }
    long rootBytes = flavor.rootGb() * (1L << 30);
    if (flavor.rootGb() > 0
        && (flavor.rootGb() < image.minDiskGb() || image.virtualSize() > rootBytes)) {
      throw new InvalidInputException("Flavor's disk is too small for requested image.");
    }
    if (req.metadata().isPresent()) {
      long limit = deps.quotas().limits(r.projectId()).getOrDefault("metadata_items", 128L);
      if (limit >= 0 && req.metadata().get().size() > limit) {
        throw new QuotaExceededException(
            "Quota exceeded for metadata_items: Requested "
                + req.metadata().get().size()
                + ", but the limit is "
                + limit);
      }
    }
    Optional<Optional<InstanceLifecycleRepository.KeyPair>> key =
        req.keyName()
            .map(
                n ->
                    n.map(
                        name -> {
                          try {
                            KeyPairRecord k = deps.keyPairs().get(r.userId(), name);
                            return new InstanceLifecycleRepository.KeyPair(k.name(), k.publicKey());
                          } catch (NotFoundException e) {
                            throw new InvalidInputException("Invalid key_name provided.");
                          }
                        }));
    return new Checked(image, key);
  }

  /** Writes the new image and the fields the body replaces (after the task-state swap). */
  void apply(InstanceRecord r, Request req, Checked checked) {
    lifecycle.applyRebuild(
        r.uuid(),
        new InstanceLifecycleRepository.RebuildFields(
            checked.image().id(),
            req.name(),
            req.name().map(n -> ServerCreate.hostname(n, r.uuid())),
            req.metadata(),
            req.userData(),
            checked.key()));
    req.description().ifPresent(d -> deps.instances().setDescription(r.uuid(), d));
  }
}
