package io.virga.libvirt;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.zip.Checksum;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination end of the disk transfer channel ({@link DiskTransferProtocol}): a TCP listener
 * for one migration that accepts only its token, writes each file as {@code <name>.part} with
 * positional writes (what was not sent stays a hole), checks the file's checksum and only then
 * renames it into place. {@link #close()} kills it: listener and connection closed, partial files
 * removed. Connections are served one at a time; it stops after a completed transfer.
 */
final class DiskReceiver implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DiskReceiver.class);

  private final ServerSocket server;
  private final Path dir;
  private final String migrationId;
  private final byte[] token;
  private final Consumer<Path> claimDir;
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong announced = new AtomicLong();
  private volatile Socket current;
  private volatile Path partial;
  private volatile boolean closed;
  private volatile boolean completed;
  private volatile String lastError = "";
  private boolean claimed;

  /**
   * Listens on {@code bindAddress} (port chosen by the system) for the disks of {@code
   * migrationId}, to be written into {@code dir}; {@code claimDir} runs once before the first file
   * (it creates the directory or refuses it).
   */
  static DiskReceiver open(
      String bindAddress,
      Path dir,
      String migrationId,
      String token,
      Optional<SSLContext> tls,
      Consumer<Path> claimDir)
      throws IOException {
    ServerSocket s;
    if (tls.isPresent()) {
      SSLServerSocket ss =
          (SSLServerSocket) tls.get().getServerSocketFactory().createServerSocket();
      ss.setNeedClientAuth(true);
      s = ss;
    } else {
      s = ServerSocketChannel.open().socket(); // accepted sockets carry their channel
    }
    s.setReceiveBufferSize(4 << 20);
    try {
      s.bind(new InetSocketAddress(InetAddress.getByName(bindAddress), 0), 1);
    } catch (IOException e) {
      s.close();
      throw e;
    }
    DiskReceiver r = new DiskReceiver(s, dir, migrationId, token, claimDir);
    Thread.ofVirtual().name("disk-receiver-" + migrationId).start(r::serve);
    return r;
  }

  private DiskReceiver(
      ServerSocket server, Path dir, String migrationId, String token, Consumer<Path> claimDir) {
    this.server = server;
    this.dir = dir;
    this.migrationId = migrationId;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.claimDir = claimDir;
  }

  int port() {
    return server.getLocalPort();
  }

  /** Data bytes written so far (holes not counted). */
  long bytesReceived() {
    return received.get();
  }

  /** Data bytes the sender announced for the files begun so far. */
  long bytesAnnounced() {
    return announced.get();
  }

  boolean isCompleted() {
    return completed;
  }

  /** Why the last connection failed, empty when none did. */
  String lastError() {
    return lastError;
  }

  private void serve() {
    while (!closed && !completed) {
      try (Socket s = server.accept()) {
        current = s;
        s.setSoTimeout((int) IDLE_MS); // a silent sender is a dead one
        Thread dog = Thread.ofVirtual().start(() -> watch(s));
        try {
          handle(s);
        } finally {
          dog.interrupt();
        }
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          lastError = e.getMessage() == null ? e.toString() : e.getMessage();
          LOG.warn("migration {}: disk transfer connection failed: {}", migrationId, lastError);
        }
      } finally {
        current = null;
        removePartial();
      }
    }
    closeQuietly();
  }

  /** How long a connection may stay silent. */
  private static final long IDLE_MS = 120_000;

  private volatile long lastActivity;

  /**
   * Cuts a connection silent for {@link #IDLE_MS}: the data reads of a plain connection go straight
   * to its channel, which no socket timeout covers.
   */
  private void watch(Socket s) {
    lastActivity = System.nanoTime();
    try {
      while (!s.isClosed()) {
        Thread.sleep(Math.min(IDLE_MS, 5_000));
        if (System.nanoTime() - lastActivity > IDLE_MS * 1_000_000) {
          LOG.warn("migration {}: the sender went silent; closing the connection", migrationId);
          s.close();
        }
      }
    } catch (InterruptedException | IOException e) {
      // the connection ended
    }
  }

  private void handle(Socket s) throws IOException {
    // plain TCP: the frame headers through the socket's own stream (unbuffered, so it never reads
    // ahead into the data, with the socket timeout), the data straight from the channel into a
    // direct buffer; TLS: everything through the buffered decrypting stream
    SocketChannel ch = s.getChannel();
    var in =
        new DataInputStream(
            ch != null ? s.getInputStream() : new BufferedInputStream(s.getInputStream(), 1 << 16));
    var out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
    if (in.readByte() != DiskTransferProtocol.HELLO
        || !DiskTransferProtocol.MAGIC.equals(in.readUTF())) {
      DiskTransferProtocol.err(out, "not a Virga disk transfer");
      throw new IOException("a connection that is not a disk transfer");
    }
    byte[] offered = in.readUTF().getBytes(StandardCharsets.UTF_8);
    if (!MessageDigest.isEqual(offered, token)) { // constant time
      DiskTransferProtocol.err(out, "wrong token for this migration");
      throw new IOException("refused a sender with a wrong token");
    }
    DiskTransferProtocol.ok(out);
    while (true) {
      byte tag = in.readByte();
      if (tag == DiskTransferProtocol.QUIT) {
        completed = true;
        DiskTransferProtocol.ok(out);
        LOG.info("migration {}: received {} data bytes", migrationId, received.get());
        return;
      }
      if (tag != DiskTransferProtocol.FILE) {
        throw new IOException("unexpected frame " + tag);
      }
      receiveFile(in, ch, out);
    }
  }

  private void receiveFile(DataInputStream in, SocketChannel sc, DataOutputStream out)
      throws IOException {
    String name = in.readUTF();
    long size = in.readLong();
    long dataBytes = in.readLong();
    if (!DiskTransferProtocol.safeName(name) || size < 0 || dataBytes < 0 || dataBytes > size) {
      DiskTransferProtocol.err(out, "refused file '" + name + "'");
      throw new IOException("refused file name or size: '" + name + "'");
    }
    synchronized (this) {
      if (!claimed) {
        claimDir.accept(dir);
        claimed = true;
      }
    }
    announced.addAndGet(dataBytes);
    Path target = dir.resolve(name);
    Path part = dir.resolve(name + ".part");
    partial = part;
    Checksum md = DiskTransferProtocol.digest();
    ByteBuffer buf =
        sc != null
            ? ByteBuffer.allocateDirect(DiskTransferProtocol.CHUNK)
            : ByteBuffer.allocate(DiskTransferProtocol.CHUNK);
    try (FileChannel ch =
        FileChannel.open(
            part,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      byte tag;
      while ((tag = in.readByte()) == DiskTransferProtocol.DATA) {
        long offset = in.readLong();
        int len = in.readInt();
        if (offset < 0 || len <= 0 || len > DiskTransferProtocol.CHUNK || offset + len > size) {
          throw new IOException("bad data frame for " + name);
        }
        buf.clear().limit(len);
        if (sc != null) {
          while (buf.hasRemaining()) {
            if (sc.read(buf) < 0) {
              throw new EOFException("the sender closed the connection inside " + name);
            }
            lastActivity = System.nanoTime();
          }
          buf.flip();
        } else {
          in.readFully(buf.array(), 0, len);
        }
        DiskTransferProtocol.digestHeader(md, offset, len);
        md.update(buf.duplicate()); // the bytes as they will be written
        while (buf.hasRemaining()) {
          ch.write(buf, offset + buf.position());
        }
        lastActivity = System.nanoTime();
        received.addAndGet(len);
      }
      if (tag != DiskTransferProtocol.END) {
        throw new IOException("unexpected frame " + tag + " in " + name);
      }
      long sent = in.readLong();
      if (sent != DiskTransferProtocol.digestEnd(md, size)) {
        DiskTransferProtocol.err(out, name + " arrived corrupted (digest mismatch)");
        throw new IOException(name + " arrived corrupted (digest mismatch)");
      }
      if (ch.size() > size) {
        ch.truncate(size);
      }
    }
    // no fsync, as cp and rsync: a crash mid-migration fails it and its cleanup removes the files
    try (var raf = new java.io.RandomAccessFile(part.toFile(), "rw")) {
      raf.setLength(size); // a trailing hole stays a hole
    }
    Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    partial = null;
    DiskTransferProtocol.ok(out);
  }

  private void removePartial() {
    Path p = partial;
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        LOG.warn("cannot remove partial {}: {}", p, e.toString());
      }
      partial = null;
    }
  }

  /** Kills the receiver: no more connections, the current one cut, partial files removed. */
  @Override
  public void close() {
    closed = true;
    closeQuietly();
    Socket s = current;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        LOG.debug("closing transfer connection: {}", e.toString());
      }
    }
    removePartial();
  }

  private void closeQuietly() {
    try {
      server.close();
    } catch (IOException e) {
      LOG.debug("closing transfer listener: {}", e.toString());
    }
  }
}
