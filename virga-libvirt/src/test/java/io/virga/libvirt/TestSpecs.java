package io.virga.libvirt;

import io.virga.core.DiskFormat;
import io.virga.core.Flavor;
import io.virga.core.ImageMeta;
import io.virga.virt.InstanceSpec;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** Instance specs for unit tests, shaped like the reference Nova domain. */
final class TestSpecs {
  private TestSpecs() {}

  static Flavor tiny() {
    return new Flavor("1", "anchor.tiny", 128, 1, 1, 0, 0, Map.of());
  }

  static ImageMeta image() {
    return new ImageMeta(
        "44064809-936b-4ef4-949e-22bb3b4c1592",
        "tiny",
        DiskFormat.QCOW2,
        "bare",
        1 << 20,
        1 << 30,
        0,
        0,
        Map.of());
  }

  static InstanceSpec spec(String displayName, Flavor flavor) {
    return new InstanceSpec(
        "4d915d00-4a80-4793-914f-53d46d13b6e5",
        "instance-00000001",
        displayName,
        "warm1",
        "777722048e85421c8710f5b0d8dc941f",
        "2b7e23f12fe94d40b43bd218c2b91fe5",
        flavor,
        image(),
        Map.of("role", "test"),
        Optional.of("#!/bin/sh\necho hi\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
        Map.of("mykey", "ssh-ed25519 AAAA test@virga"),
        true,
        "nova",
        0,
        Instant.parse("2026-11-22T05:59:16Z"));
  }
}
