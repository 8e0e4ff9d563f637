package io.virga.libvirt;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The wire format of the disk transfer channel between agents (cold migration, DESIGN §3.3). Every
 * frame is a one-byte tag:
 *
 * <pre>
 * client: HELLO  utf(MAGIC) utf(token)                       server: OK | ERR utf(reason)
 * client: FILE   utf(name) long(size) long(dataBytes)
 *         DATA   long(offset) int(length) bytes              (only non-zero runs: holes are not sent)
 *         END    sha256                                      server: OK | ERR utf(reason)
 * client: QUIT                                               server: OK
 * </pre>
 *
 * One receiver serves one migration, so the token alone says which. The digest covers every DATA
 * frame's offset, length and bytes, then the size, so a changed byte, a lost or moved run, or a
 * wrong size is refused.
 */
final class DiskTransferProtocol {
  static final String MAGIC = "VIRGA-DISK-TRANSFER/1";
  static final byte HELLO = 'H';
  static final byte FILE = 'F';
  static final byte DATA = 'D';
  static final byte END = 'E';
  static final byte QUIT = 'Q';
  static final byte OK = 0;
  static final byte ERR = 1;

  /** The largest DATA frame. */
  static final int CHUNK = 1 << 20;

  /** Zero blocks of this size inside data extents are skipped (become holes). */
  static final int ZERO_BLOCK = 64 << 10;

  private DiskTransferProtocol() {}

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Adds a DATA frame's header to {@code md} (the bytes are added by the caller). */
  static void digestHeader(MessageDigest md, long offset, int length) {
    byte[] h = new byte[12];
    for (int i = 0; i < 8; i++) {
      h[i] = (byte) (offset >>> (56 - 8 * i));
    }
    for (int i = 0; i < 4; i++) {
      h[8 + i] = (byte) (length >>> (24 - 8 * i));
    }
    md.update(h);
  }

  /** Finishes a file's digest with its size. */
  static byte[] digestEnd(MessageDigest md, long size) {
    digestHeader(md, size, 0);
    return md.digest();
  }

  /** Reads the server's answer; throws with its reason on ERR. */
  static void expectOk(DataInputStream in, String what) throws IOException {
    byte b = in.readByte();
    if (b == OK) {
      return;
    }
    if (b == ERR) {
      throw new IOException(what + " refused by the receiver: " + in.readUTF());
    }
    throw new IOException(what + ": unexpected answer " + b);
  }

  static void ok(DataOutputStream out) throws IOException {
    out.writeByte(OK);
    out.flush();
  }

  static void err(DataOutputStream out, String reason) throws IOException {
    out.writeByte(ERR);
    out.writeUTF(reason);
    out.flush();
  }

  /** A name the receiver accepts: one plain file name in the instance directory. */
  static boolean safeName(String name) {
    return name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}") && !name.contains("..");
  }
}
