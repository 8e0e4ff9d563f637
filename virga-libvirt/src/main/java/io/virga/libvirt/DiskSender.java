package io.virga.libvirt;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The source end of the disk transfer channel ({@link DiskTransferProtocol}): sends each file's
 * data extents ({@link SparseFiles}), skipping zero blocks inside them, with a digest per file,
 * optionally capped in bandwidth and over TLS.
 *
 * @param bandwidthBytes bytes per second, 0 = unlimited
 */
record DiskSender(
    String host, int port, String token, long bandwidthBytes, Optional<SSLContext> tls) {

  /** A file and where its data lies. */
  record Plan(Path file, long size, List<SparseFiles.Extent> extents, long dataBytes) {}

  /** The plans for {@code files}; their data sizes sum to what {@link #send} reports as total. */
  static List<Plan> plan(List<Path> files) throws IOException {
    List<Plan> out = new ArrayList<>();
    for (Path f : files) {
      long size = Files.size(f);
      var extents = SparseFiles.dataExtents(f, size);
      out.add(new Plan(f, size, extents, extents.stream().mapToLong(e -> e.length()).sum()));
    }
    return out;
  }

  /**
   * Sends every file of {@code plans} under its own name; {@code progress} is told the data bytes
   * read so far (of the plans' total) after each chunk. Throws when the receiver refuses a file or
   * the connection breaks.
   */
  void send(List<Plan> plans, LongConsumer progress) throws IOException {
    try (Socket s = connect()) {
      s.setSoTimeout(120_000);
      var out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 1 << 16));
      var in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
      out.writeByte(DiskTransferProtocol.HELLO);
      out.writeUTF(DiskTransferProtocol.MAGIC);
      out.writeUTF(token);
      out.flush();
      DiskTransferProtocol.expectOk(in, "disk transfer to " + host + ":" + port);
      Throttle throttle = new Throttle(bandwidthBytes, System.nanoTime());
      long[] done = {0};
      for (Plan p : plans) {
        sendFile(p, out, throttle, done, progress);
        DiskTransferProtocol.expectOk(in, p.file().getFileName().toString());
      }
      out.writeByte(DiskTransferProtocol.QUIT);
      out.flush();
      DiskTransferProtocol.expectOk(in, "end of transfer");
    }
  }

  private Socket connect() throws IOException {
    Socket raw = new Socket();
    try {
      raw.connect(new InetSocketAddress(host, port), 10_000);
      if (tls.isEmpty()) {
        raw.setTcpNoDelay(true);
        return raw;
      }
      SSLSocket ssl = (SSLSocket) tls.get().getSocketFactory().createSocket(raw, host, port, true);
      ssl.startHandshake();
      return ssl;
    } catch (IOException e) {
      raw.close();
      throw e;
    }
  }

  private static void sendFile(
      Plan p, DataOutputStream out, Throttle throttle, long[] done, LongConsumer progress)
      throws IOException {
    out.writeByte(DiskTransferProtocol.FILE);
    out.writeUTF(p.file().getFileName().toString());
    out.writeLong(p.size());
    out.writeLong(p.dataBytes());
    MessageDigest md = DiskTransferProtocol.digest();
    ByteBuffer buf = ByteBuffer.allocate(DiskTransferProtocol.CHUNK);
    try (FileChannel ch = FileChannel.open(p.file(), StandardOpenOption.READ)) {
      for (SparseFiles.Extent e : p.extents()) {
        long pos = e.offset();
        long end = e.offset() + e.length();
        while (pos < end) {
          int len = (int) Math.min(DiskTransferProtocol.CHUNK, end - pos);
          buf.clear().limit(len);
          while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
              throw new IOException(p.file() + " shrank while being sent");
            }
          }
          sendNonZeroRuns(buf.array(), len, pos, out, md);
          pos += len;
          done[0] += len;
          progress.accept(done[0]);
          throttle.pace(done[0]);
        }
      }
    }
    out.writeByte(DiskTransferProtocol.END);
    out.write(DiskTransferProtocol.digestEnd(md, p.size()));
    out.flush();
  }

  /** DATA frames for the runs of {@code b[0, len)} that are not whole zero blocks. */
  private static void sendNonZeroRuns(
      byte[] b, int len, long base, DataOutputStream out, MessageDigest md) throws IOException {
    int runStart = -1;
    for (int at = 0; at < len; at += DiskTransferProtocol.ZERO_BLOCK) {
      int blockLen = Math.min(DiskTransferProtocol.ZERO_BLOCK, len - at);
      boolean zero = SparseFiles.isZero(ByteBuffer.wrap(b, at, blockLen));
      if (!zero && runStart < 0) {
        runStart = at;
      } else if (zero && runStart >= 0) {
        frame(b, runStart, at - runStart, base, out, md);
        runStart = -1;
      }
    }
    if (runStart >= 0) {
      frame(b, runStart, len - runStart, base, out, md);
    }
  }

  private static void frame(
      byte[] b, int from, int len, long base, DataOutputStream out, MessageDigest md)
      throws IOException {
    out.writeByte(DiskTransferProtocol.DATA);
    out.writeLong(base + from);
    out.writeInt(len);
    out.write(b, from, len);
    DiskTransferProtocol.digestHeader(md, base + from, len);
    md.update(b, from, len);
  }

  /** Sleeps as needed so that {@code sent} bytes take at least sent / rate seconds. */
  record Throttle(long bytesPerSecond, long startNanos) {
    void pace(long sent) {
      if (bytesPerSecond <= 0) {
        return;
      }
      long due = startNanos + (long) (sent * 1e9 / bytesPerSecond);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        try {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("disk transfer interrupted", e);
        }
      }
    }
  }
}
