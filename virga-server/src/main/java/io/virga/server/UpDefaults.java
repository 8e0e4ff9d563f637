package io.virga.server;

import io.virga.api.IdentityService;
import io.virga.core.Flavor;
import io.virga.db.FlavorRepository;
import io.virga.db.ImageRecord;
import io.virga.image.ImageService;
import io.virga.image.ImageSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What {@code virga up} makes sure exists: default flavors and the public tiny guest image. */
final class UpDefaults {
  static final String TINY_IMAGE = "virga-tiny";

  /** Nova's classic flavors plus {@code v1.tiny}, which fits the tiny guest in 128 MB. */
  static final List<Flavor> FLAVORS =
      List.of(
          new Flavor("1", "m1.tiny", 512, 1, 1, 0, 0, Map.of()),
          new Flavor("2", "m1.small", 2048, 1, 20, 0, 0, Map.of()),
          new Flavor("3", "m1.medium", 4096, 2, 40, 0, 0, Map.of()),
          new Flavor("4", "m1.large", 8192, 4, 80, 0, 0, Map.of()),
          new Flavor("5", "m1.xlarge", 16384, 8, 160, 0, 0, Map.of()),
          new Flavor("v1.tiny", "v1.tiny", 128, 1, 1, 0, 0, Map.of()));

  private UpDefaults() {}

  /** Creates the default flavors that do not exist yet (by id); returns how many were created. */
  static int ensureFlavors(FlavorRepository flavors) {
    int n = 0;
    for (Flavor f : FLAVORS) {
      if (flavors.find(f.id()).isEmpty()
          && flavors.list(Optional.empty(), Optional.empty()).stream()
              .noneMatch(r -> r.flavor().name().equals(f.name()))) {
        flavors.create(f, 1.0, true, Optional.empty());
        n++;
      }
    }
    return n;
  }

  /** The public image named {@code name}, imported from {@code disk} when absent. */
  static ImageRecord ensureImage(
      ImageService images, String adminProjectId, String name, Path disk) {
    return ensureImage(images, adminProjectId, name, disk, "qcow2");
  }

  /** The active image called {@code name}, as the admin sees it. */
  static Optional<ImageRecord> activeImage(
      ImageService images, String adminProjectId, String name) {
    return images
        .list(
            new ImageService.Caller(adminProjectId, true),
            Map.of("name", name),
            List.of(),
            Optional.empty(),
            List.of(),
            Optional.empty(),
            1000)
        .stream()
        .filter(r -> r.status().equals("active"))
        .findFirst();
  }

  static ImageRecord ensureImage(
      ImageService images, String adminProjectId, String name, Path disk, String diskFormat) {
    ImageService.Caller admin = new ImageService.Caller(adminProjectId, true);
    Optional<ImageRecord> existing = activeImage(images, adminProjectId, name);
    if (existing.isPresent()) {
      return existing.get();
    }
    ImageSpec spec =
        new ImageSpec(
            Optional.empty(),
            Optional.of(name),
            Optional.of(diskFormat),
            Optional.of("bare"),
            "public",
            0,
            0,
            false,
            false,
            List.of(),
            Map.of());
    return images.importFile(admin, spec, disk);
  }

  /** Project of the agents' service user. */
  static final String SERVICE_PROJECT = "service";

  /** The agents' service user: reads and writes any project's images (role admin). */
  static final String SERVICE_USER = "virga-agent";

  static IdentityService.Bootstrap ensureUsers(IdentityService identity, UpCredentials creds) {
    IdentityService.Bootstrap b = identity.bootstrap(creds.adminPassword(), creds.demoPassword());
    var project = identity.ensureProject(SERVICE_PROJECT, "Service users of Virga's own processes");
    var user =
        identity.ensureUser(
            SERVICE_USER, creds.servicePassword(), java.util.Optional.of(project.id()));
    identity.grant(user.id(), project.id(), "admin");
    return b;
  }
}
