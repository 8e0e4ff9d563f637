package io.virga.api;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Crafted image headers for upload tests (no qemu-img needed). */
final class CraftedImages {
  private CraftedImages() {}

  /** A qcow2 v3 header of {@code virtualSize}, optionally naming a backing file; 64 KiB long. */
  static byte[] qcow2(long virtualSize, boolean backingFile) {
    ByteBuffer b = ByteBuffer.allocate(65536).order(ByteOrder.BIG_ENDIAN);
    long backingOffset = backingFile ? 512 : 0;
    b.put(new byte[] {'Q', 'F', 'I', (byte) 0xfb}).putInt(3).putLong(backingOffset);
    b.putInt(backingFile ? 11 : 0).putInt(16).putLong(virtualSize);
    b.putInt(0);
    b.position(72);
    b.putLong(0).putLong(0).putLong(0).putInt(4).putInt(104);
    if (backingFile) {
      b.position(512);
      b.put("/etc/passwd".getBytes(StandardCharsets.US_ASCII));
    }
    return b.array();
  }

  static String hex(String algo, byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance(algo).digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
