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
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongConsumer;
import java.util.zip.Checksum;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The source end of the disk transfer channel ({@link DiskTransferProtocol}): sends each file's
 * data extents ({@link SparseFiles}), skipping zero blocks inside them, with a CRC-32C per file,
 * optionally capped in bandwidth and over TLS. Over plain TCP the data is read once into a direct
 * buffer (zero scan, checksum) and sent with {@code sendfile} ({@link FileChannel#transferTo}),
 * never copied through the Java heap.
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
    try (Wire w = connect()) {
      var out = w.out();
      var in = new DataInputStream(new BufferedInputStream(w.socket().getInputStream()));
      out.writeByte(DiskTransferProtocol.HELLO);
      out.writeUTF(DiskTransferProtocol.MAGIC);
      out.writeUTF(token);
      out.flush();
      DiskTransferProtocol.expectOk(in, "disk transfer to " + host + ":" + port);
      Throttle throttle = new Throttle(bandwidthBytes, System.nanoTime());
      long[] done = {0};
      for (Plan p : plans) {
        sendFile(p, w, throttle, done, progress);
        DiskTransferProtocol.expectOk(in, p.file().getFileName().toString());
      }
      out.writeByte(DiskTransferProtocol.QUIT);
      out.flush();
      DiskTransferProtocol.expectOk(in, "end of transfer");
    }
  }

  /**
   * The connection: over plain TCP a blocking {@link SocketChannel}, so that data goes from the
   * page cache to the socket with {@code sendfile} (no user-space copy); over TLS the encrypting
   * socket's stream.
   */
  private record Wire(Socket socket, Optional<SocketChannel> channel, DataOutputStream out)
      implements AutoCloseable {
    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private Wire connect() throws IOException {
    SocketChannel ch = SocketChannel.open();
    Socket raw = ch.socket();
    try {
      raw.setSendBufferSize(4 << 20);
      raw.connect(new InetSocketAddress(host, port), 10_000);
      raw.setSoTimeout(120_000); // honoured by the channel's socket streams
      if (tls.isEmpty()) {
        raw.setTcpNoDelay(true);
        var out = new DataOutputStream(new BufferedOutputStream(raw.getOutputStream(), 1 << 16));
        return new Wire(raw, Optional.of(ch), out);
      }
      SSLSocket ssl = (SSLSocket) tls.get().getSocketFactory().createSocket(raw, host, port, true);
      ssl.setSoTimeout(120_000);
      ssl.startHandshake();
      var out = new DataOutputStream(new BufferedOutputStream(ssl.getOutputStream(), 1 << 16));
      return new Wire(ssl, Optional.empty(), out);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * One file, chunk by chunk: each chunk is read once into a direct buffer (no copy to the Java
   * heap) where the zero scan and the checksum see it; its non-zero runs then go out with {@code
   * sendfile} from the page cache the read just filled (plain TCP), or through the TLS stream.
   */
  private static void sendFile(
      Plan p, Wire w, Throttle throttle, long[] done, LongConsumer progress) throws IOException {
    DataOutputStream out = w.out();
    out.writeByte(DiskTransferProtocol.FILE);
    out.writeUTF(p.file().getFileName().toString());
    out.writeLong(p.size());
    out.writeLong(p.dataBytes());
    Checksum md = DiskTransferProtocol.digest();
    ByteBuffer buf = ByteBuffer.allocateDirect(DiskTransferProtocol.CHUNK);
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
          sendNonZeroRuns(new Chunk(ch, buf, len, pos), w, md);
          pos += len;
          done[0] += len;
          progress.accept(done[0]);
          throttle.pace(done[0]);
        }
      }
    }
    out.writeByte(DiskTransferProtocol.END);
    out.writeLong(DiskTransferProtocol.digestEnd(md, p.size()));
    out.flush();
  }

  private static final ByteBuffer ZEROS =
      ByteBuffer.allocateDirect(DiskTransferProtocol.ZERO_BLOCK).asReadOnlyBuffer();

  /** The first {@code len} bytes of {@code buf}, read from {@code file} at {@code fileOffset}. */
  private record Chunk(FileChannel file, ByteBuffer buf, int len, long fileOffset) {
    ByteBuffer slice(int from, int n) {
      return buf.slice(from, n);
    }

    boolean zero(int from, int n) {
      return slice(from, n).mismatch(ZEROS.slice(0, n)) < 0; // vectorised
    }
  }

  /** DATA frames for the runs of the chunk that are not whole zero blocks. */
  private static void sendNonZeroRuns(Chunk c, Wire w, Checksum md) throws IOException {
    int runStart = -1;
    for (int at = 0; at < c.len(); at += DiskTransferProtocol.ZERO_BLOCK) {
      int blockLen = Math.min(DiskTransferProtocol.ZERO_BLOCK, c.len() - at);
      boolean zero = c.zero(at, blockLen);
      if (!zero && runStart < 0) {
        runStart = at;
      } else if (zero && runStart >= 0) {
        frame(c, runStart, at - runStart, w, md);
        runStart = -1;
      }
    }
    if (runStart >= 0) {
      frame(c, runStart, c.len() - runStart, w, md);
    }
  }

  private static void frame(Chunk c, int from, int len, Wire w, Checksum md) throws IOException {
    long offset = c.fileOffset() + from;
    DataOutputStream out = w.out();
    out.writeByte(DiskTransferProtocol.DATA);
    out.writeLong(offset);
    out.writeInt(len);
    DiskTransferProtocol.digestHeader(md, offset, len);
    md.update(c.slice(from, len)); // the direct buffer in place
    if (w.channel().isPresent()) {
      out.flush();
      SocketChannel sc = w.channel().get();
      long sent = 0;
      while (sent < len) { // sendfile: page cache to socket inside the kernel
        sent += c.file().transferTo(offset + sent, len - sent, sc);
      }
    } else {
      byte[] b = new byte[len];
      c.slice(from, len).get(b);
      out.write(b, 0, len);
    }
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
