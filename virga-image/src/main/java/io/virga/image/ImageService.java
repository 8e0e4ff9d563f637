package io.virga.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.Config;
import io.virga.core.ConflictException;
import io.virga.core.DiskFormat;
import io.virga.core.ForbiddenException;
import io.virga.core.FormatInspector;
import io.virga.core.ImageMeta;
import io.virga.core.InvalidInputException;
import io.virga.core.NotFoundException;
import io.virga.core.PayloadTooLargeException;
import io.virga.core.VirgaException;
import io.virga.db.Database;
import io.virga.db.ImageMemberRepository;
import io.virga.db.ImageRecord;
import io.virga.db.ImageRepository;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image service (Glance v2 subset): metadata in the database, data in the filesystem store
 * {@code images_dir} (default {@code $VIRGA_HOME/images}), uploads streamed once through md5,
 * sha512 and the format inspector (DESIGN §5: the detected format must be the declared one; backing
 * files, external data files, unsafe VMDK and QED are refused) and renamed into place only when
 * verified. Statuses: queued → saving → active; killed when storing fails.
 *
 * <p>Visibility: a project sees public images, its own, and community images when it asks for them;
 * anything else is 404 (no leakage). Only admins publicize.
 *
 * <p>The compute side uses {@link #get(String)} (an active image's {@link ImageMeta}), {@link
 * #dataPath(String)} / {@link #openData(String)} to fetch a base, and {@link #create} + {@link
 * #upload} (or {@link #kill}) for snapshots; {@code virga up} uses {@link #importFile}.
 *
 * <p>Configuration: {@code images_dir} ($VIRGA_HOME/images), {@code image_size_cap} (bytes, default
 * 1099511627776 = 1 TiB, Glance's default), {@code image_list_limit_max} (1000), {@code
 * image_list_limit_default} (25).
 */
public final class ImageService {
  private static final Logger LOG = LoggerFactory.getLogger(ImageService.class);
  private static final int BUFFER = 1 << 16;

  private final ImageRepository repo;
  private final ImageMemberRepository members;
  private final ImageStore store;
  private final long sizeCap;
  private final int listLimitMax;
  private final int listLimitDefault;

  /** Who asks: the token's project and whether it is admin. */
  public record Caller(String projectId, boolean admin) {
    /** The service itself acting for a project (bootstrap, snapshots): full rights. */
    public static Caller system(String projectId) {
      return new Caller(projectId, true);
    }
  }

  public ImageService(Database db, Config config) {
    this.repo = new ImageRepository(db);
    this.members = new ImageMemberRepository(db);
    this.store =
        new ImageStore(
            config
                .get("images_dir")
                .map(Path::of)
                .orElseGet(() -> config.home().resolve("images")));
    // An upload cut short by a crash left its image in saving (and a .part file the store has
    // just removed): nothing is receiving it now, so it can take a new upload.
    int stuck = repo.moveAll("saving", "queued", Database.now());
    if (stuck > 0) {
      LOG.warn(
          "{} image(s) were saving when Virga stopped; back to queued for a new upload", stuck);
    }
    this.sizeCap = config.longValue("image_size_cap", 1L << 40);
    this.listLimitMax = config.integer("image_list_limit_max", 1000);
    this.listLimitDefault = Math.min(config.integer("image_list_limit_default", 25), listLimitMax);
  }

  // ---- metadata

  public ImageRecord create(Caller caller, ImageSpec spec) {
    return create(caller, spec, Optional.of(caller.projectId()));
  }

  /**
   * Creates an image owned by {@code owner}: an admin may create one for another project (or for
   * none), anyone else only for their own (403 as Glance).
   */
  public ImageRecord create(Caller caller, ImageSpec spec, Optional<String> owner) {
    if (!caller.admin() && !owner.equals(Optional.of(caller.projectId()))) {
      throw new ForbiddenException(
          "You are not permitted to create images owned by '" + owner.orElse("") + "'.");
    }
    String id = spec.id().orElseGet(() -> UUID.randomUUID().toString());
    if (spec.visibility().equals("public") && !caller.admin()) {
      throw new ForbiddenException("You are not authorized to publicize an image (admin only).");
    }
    spec.diskFormat().ifPresent(ImageFields::diskFormat);
    spec.containerFormat().ifPresent(ImageFields::containerFormat);
    long now = Database.now();
    ImageRecord r =
        new ImageRecord(
            id,
            spec.name(),
            "queued",
            spec.visibility(),
            owner,
            spec.diskFormat(),
            spec.containerFormat(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            spec.minDisk(),
            spec.minRam(),
            spec.isProtected(),
            spec.osHidden(),
            now,
            now,
            spec.properties(),
            spec.tags());
    if (spec.id().isPresent() && repo.find(id).isPresent()) {
      throw new ConflictException("Image with identifier " + id + " already exists!");
    }
    try {
      repo.insert(r);
    } catch (RuntimeException e) {
      if (repo.find(id).isPresent()) {
        throw new ConflictException("Image with identifier " + id + " already exists!");
      }
      throw e;
    }
    LOG.info(
        "created image {} ({}) for project {}", id, spec.name().orElse(""), caller.projectId());
    return r;
  }

  /** The image if the caller may see it. */
  public Optional<ImageRecord> find(Caller caller, String id) {
    return repo.find(id).filter(r -> visible(caller, r));
  }

  public ImageRecord show(Caller caller, String id) {
    return find(caller, id).orElseThrow(() -> notFound(id));
  }

  private static NotFoundException notFound(String id) {
    return new NotFoundException("No image found with ID " + id);
  }

  /** Public, community, owned, or shared with the caller's project (any member status). */
  boolean visible(Caller c, ImageRecord r) {
    return c.admin()
        || r.visibility().equals("public")
        || r.visibility().equals("community")
        || r.owner().map(c.projectId()::equals).orElse(false)
        || r.visibility().equals("shared") && members.find(r.id(), c.projectId()).isPresent();
  }

  ImageMemberRepository members() {
    return members;
  }

  /** Image members (Glance's sharing between projects). */
  public ImageMembers sharing() {
    return new ImageMembers(this, members);
  }

  /**
   * Glance's deactivate (active → deactivated: only admins may download it, compute refuses it) and
   * reactivate (back to active); the same state again is a no-op; any other status is 400. The
   * owner or an admin may do it.
   */
  public void setActive(Caller caller, String id, boolean active) {
    ImageRecord r = requireOwner(caller, show(caller, id));
    String from = active ? "deactivated" : "active";
    String to = active ? "active" : "deactivated";
    if (r.status().equals(to)) {
      return;
    }
    if (!r.status().equals(from) || !repo.compareAndSetStatus(id, from, to, Database.now())) {
      throw new InvalidInputException(
          "Not allowed to "
              + (active ? "reactivate" : "deactivate")
              + " image in status '"
              + repo.find(id).map(ImageRecord::status).orElse("deleted")
              + "'");
    }
    LOG.info("image {} is now {}", id, to);
  }

  private static ImageRecord requireOwner(Caller c, ImageRecord r) {
    if (!c.admin() && !r.owner().map(c.projectId()::equals).orElse(false)) {
      throw new ForbiddenException("You are not permitted to modify image " + r.id() + ".");
    }
    return r;
  }

  /** A page of images; {@code marker} must be an image the caller can see (else 400 as Glance). */
  public List<ImageRecord> list(
      Caller caller,
      Map<String, String> filters,
      List<String> tags,
      Optional<Boolean> osHidden,
      List<Map.Entry<String, String>> sort,
      Optional<String> marker,
      int limit) {
    for (String key : filters.keySet()) {
      if (!ImageRepository.isFilterColumn(key)) {
        throw new InvalidInputException("Unsupported filter " + key);
      }
    }
    for (Map.Entry<String, String> s : sort) {
      if (!ImageRepository.isSortKey(s.getKey())) {
        throw new InvalidInputException("Invalid sort key: " + s.getKey());
      }
      if (!s.getValue().equals("asc") && !s.getValue().equals("desc")) {
        throw new InvalidInputException("Invalid sort direction: " + s.getValue());
      }
    }
    if (limit < 0) {
      throw new InvalidInputException("limit param must be positive");
    }
    Optional<ImageRecord> m =
        marker.map(
            id ->
                find(caller, id)
                    .orElseThrow(
                        () -> new InvalidInputException("marker " + id + " could not be found.")));
    return repo.list(
        new ImageRepository.Query(
            caller.projectId(),
            caller.admin(),
            filters,
            tags,
            osHidden,
            sort,
            m,
            Math.min(limit, listLimitMax)));
  }

  public int listLimitMax() {
    return listLimitMax;
  }

  /** The page size when a list names no limit (Glance's limit_param_default, 25). */
  public int listLimitDefault() {
    return listLimitDefault;
  }

  /** Applies a JSON patch (see {@link ImagePatch}) as the caller. */
  public ImageRecord update(Caller caller, String id, List<JsonNode> operations) {
    ImageRecord current = requireOwner(caller, show(caller, id));
    ImageRecord updated = ImagePatch.apply(current, operations, caller.admin(), Database.now());
    if (!repo.update(updated)) {
      throw notFound(id);
    }
    return repo.find(id).orElseThrow(() -> notFound(id));
  }

  /** Deletes metadata and data; protected images refuse (403 as Glance). */
  public void delete(Caller caller, String id) {
    ImageRecord r = requireOwner(caller, show(caller, id));
    if (r.isProtected()) {
      throw new ForbiddenException("Image " + id + " is protected and cannot be deleted.");
    }
    if (!repo.delete(id)) {
      throw notFound(id);
    }
    store.delete(id);
    LOG.info("deleted image {}", id);
  }

  /** Marks an image killed (a snapshot whose upload failed) and drops any data. */
  public void kill(String id) {
    repo.find(id)
        .ifPresent(
            r -> {
              repo.compareAndSetStatus(id, r.status(), "killed", Database.now());
              store.delete(id);
            });
  }

  // ---- data

  /**
   * Streams {@code data} into the store: queued → saving → active. An image the inspector refuses,
   * or one over {@code image_size_cap}, goes back to queued (400/413), its bytes removed; a failure
   * to write the store marks it killed.
   */
  public ImageRecord upload(Caller caller, String id, InputStream data) {
    ImageRecord r = requireOwner(caller, show(caller, id));
    if (r.diskFormat().isEmpty() || r.containerFormat().isEmpty()) {
      throw new InvalidInputException(
          "Properties disk_format, container_format must be set prior to saving data.");
    }
    if (!repo.compareAndSetStatus(id, "queued", "saving", Database.now())) {
      throw new ConflictException(
          "Image status transition from "
              + repo.find(id).map(ImageRecord::status).orElse("deleted")
              + " to saving is not allowed: data can only be uploaded to a queued image");
    }
    DiskFormat declared = DiskFormat.ofGlance(r.diskFormat().get());
    Path part = store.newPart(id);
    try {
      Received received = receive(data, part);
      // Zero bytes carry no format to misread: accept them as Glance does (the CLI uploads its
      // empty stdin when `image create` runs without --file and without a terminal).
      long virtualSize =
          received.size == 0 ? 0 : received.inspector.verify(declared, id).virtualSize();
      try {
        store.commit(part, id);
      } catch (IOException e) {
        throw new StoreWriteException(e);
      }
      if (!repo.activate(
          id,
          received.size,
          virtualSize,
          received.md5,
          "sha512",
          received.sha512,
          Database.now())) {
        store.delete(id);
        throw new ConflictException("Image " + id + " was deleted during the upload");
      }
      LOG.info(
          "image {} active: {} bytes, virtual size {}, {}",
          id,
          received.size,
          virtualSize,
          declared.glanceName());
      return repo.find(id).orElseThrow(() -> notFound(id));
    } catch (StoreWriteException e) {
      ImageStore.deleteQuietly(part);
      repo.compareAndSetStatus(id, "saving", "killed", Database.now());
      LOG.error("storing image {} failed; marked killed", id, e);
      throw new VirgaException("Failed to store the image data: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      ImageStore.deleteQuietly(part);
      repo.compareAndSetStatus(id, "saving", "queued", Database.now());
      LOG.info("upload of image {} refused: {}", id, e.getMessage());
      throw e;
    }
  }

  private record Received(long size, String md5, String sha512, FormatInspector.Stream inspector) {}

  private static final class StoreWriteException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StoreWriteException(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private Received receive(InputStream data, Path part) {
    MessageDigest md5 = digest("MD5");
    MessageDigest sha512 = digest("SHA-512");
    FormatInspector.Stream inspector = new FormatInspector.Stream();
    long size = 0;
    byte[] buf = new byte[BUFFER];
    OutputStream out;
    try {
      out = Files.newOutputStream(part);
    } catch (IOException e) {
      throw new StoreWriteException(e);
    }
    try (out) {
      while (true) {
        int n;
        try {
          n = data.read(buf);
        } catch (IOException e) {
          throw new InvalidInputException("The upload was interrupted: " + e.getMessage());
        }
        if (n < 0) {
          break;
        }
        size += n;
        if (size > sizeCap) {
          throw new PayloadTooLargeException(
              "Image exceeds the storage quota: image_size_cap is " + sizeCap + " bytes");
        }
        md5.update(buf, 0, n);
        sha512.update(buf, 0, n);
        inspector.update(buf, 0, n);
        try {
          out.write(buf, 0, n);
        } catch (IOException e) {
          throw new StoreWriteException(e);
        }
      }
    } catch (IOException e) {
      throw new StoreWriteException(e);
    }
    HexFormat hex = HexFormat.of();
    return new Received(
        size, hex.formatHex(md5.digest()), hex.formatHex(sha512.digest()), inspector);
  }

  private static MessageDigest digest(String algo) {
    try {
      return MessageDigest.getInstance(algo);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The data of an active image the caller may see. */
  public InputStream openData(Caller caller, String id) {
    ImageRecord r = show(caller, id);
    if (r.status().equals("deactivated") && !caller.admin()) {
      throw new ForbiddenException(
          "The requested image has been deactivated. Image data download is prohibited.");
    }
    if (!r.status().equals("active") && !r.status().equals("deactivated")) {
      throw new ConflictException("Image " + id + " has no data (status " + r.status() + ")");
    }
    return openData(id);
  }

  // ---- the compute side

  /** An active image's metadata, for compute (no visibility check: the API did it). */
  public ImageMeta get(String id) {
    ImageRecord r = repo.find(id).orElseThrow(() -> notFound(id));
    if (!r.status().equals("active")) {
      throw new ConflictException("Image " + id + " is not active (status " + r.status() + ")");
    }
    Map<String, String> props = new java.util.HashMap<>(r.properties());
    r.owner().ifPresent(o -> props.putIfAbsent("owner", o));
    return new ImageMeta(
        r.id(),
        r.name().orElse(""),
        DiskFormat.ofGlance(r.diskFormat().orElse("raw")),
        r.containerFormat().orElse("bare"),
        r.size().orElse(0L),
        r.virtualSize().orElse(r.size().orElse(0L)),
        r.minDisk(),
        r.minRam(),
        props);
  }

  /** The record regardless of visibility (compute/snapshot bookkeeping). */
  public Optional<ImageRecord> record(String id) {
    return repo.find(id);
  }

  /** Where an active image's bytes are (in-process agents copy from here). */
  public Path dataPath(String id) {
    get(id);
    return store.path(id);
  }

  public InputStream openData(String id) {
    try {
      return store.open(id);
    } catch (IOException e) {
      throw new UncheckedIOException("image " + id + " has no data in the store", e);
    }
  }

  /**
   * Creates an image and uploads a file into it (used by {@code virga up} and {@code virga image
   * import}).
   */
  public ImageRecord importFile(Caller caller, ImageSpec spec, Path file) {
    ImageRecord r = create(caller, spec);
    try (InputStream in = Files.newInputStream(file)) {
      return upload(caller, r.id(), in);
    } catch (IOException e) {
      kill(r.id());
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (RuntimeException e) {
      kill(r.id());
      throw e;
    }
  }
}
