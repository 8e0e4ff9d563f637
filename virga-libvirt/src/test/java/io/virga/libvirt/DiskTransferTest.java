package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk transfer channel over loopback: sparse, verified, authenticated, killable, TLS. */
class DiskTransferTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  @TempDir Path tmp;

  private DiskReceiver receiver(Path dir, Optional<SSLContext> tls) throws IOException {
    return DiskReceiver.open("127.0.0.1", dir, "m-1", TOKEN, tls, DiskTransferTest::mkdir);
  }

  private static void mkdir(Path d) {
    try {
      Files.createDirectories(d);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** 64 MiB apparent: 1 MiB random at 10 MiB, 1 MiB written zeros at 20 MiB, 4 KiB at 40 MiB. */
  private Path sparseDisk(String name) throws IOException {
    Path f = tmp.resolve("src").resolve(name);
    Files.createDirectories(f.getParent());
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(64L << 20);
      raf.seek(10L << 20);
      raf.write(data);
      raf.seek(20L << 20);
      raf.write(new byte[1 << 20]);
      raf.seek(40L << 20);
      raf.write(data, 0, 4096);
    }
    return f;
  }

  static long allocatedBytes(Path f) throws Exception {
    Process p = new ProcessBuilder("stat", "-c", "%b %B", f.toString()).start();
    String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
    p.waitFor();
    return Long.parseLong(out[0]) * Long.parseLong(out[1]);
  }

  @Test
  void sparseFileArrivesIdenticalAndStaysSparse() throws Exception {
    Path src = sparseDisk("disk");
    Path small = tmp.resolve("src").resolve("disk.info");
    Files.writeString(small, "{\"disk\": \"qcow2\"}");
    Path dest = tmp.resolve("dest");
    try (DiskReceiver r = receiver(dest, Optional.empty())) {
      var plans = DiskSender.plan(List.of(src, small));
      long total = plans.stream().mapToLong(DiskSender.Plan::dataBytes).sum();
      assertThat(total).as("holes are not planned").isLessThan(4L << 20);
      AtomicLong last = new AtomicLong();
      new DiskSender("127.0.0.1", r.port(), TOKEN, 0, Optional.empty()).send(plans, last::set);
      assertThat(last.get()).isEqualTo(total);
      assertThat(r.isCompleted()).isTrue();
      assertThat(r.bytesReceived())
          .as("the written zeros are not sent either")
          .isLessThan(1200 << 10);
    }
    assertThat(Files.mismatch(src, dest.resolve("disk"))).isEqualTo(-1);
    assertThat(Files.readString(dest.resolve("disk.info"))).isEqualTo("{\"disk\": \"qcow2\"}");
    assertThat(Files.size(dest.resolve("disk"))).isEqualTo(64L << 20);
    assertThat(allocatedBytes(dest.resolve("disk"))).isLessThan(2L << 20);
    try (var s = Files.list(dest)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("disk", "disk.info");
    }
  }

  @Test
  void wrongTokenIsRefusedAndNothingWritten() throws Exception {
    Path src = sparseDisk("disk");
    Path dest = tmp.resolve("dest");
    try (DiskReceiver r = receiver(dest, Optional.empty())) {
      var plans = DiskSender.plan(List.of(src));
      assertThatThrownBy(
              () ->
                  new DiskSender("127.0.0.1", r.port(), "not-the-token", 0, Optional.empty())
                      .send(plans, n -> {}))
          .hasMessageContaining("wrong token");
      assertThatThrownBy(
              () ->
                  new DiskSender("127.0.0.1", r.port(), TOKEN.toUpperCase(), 0, Optional.empty())
                      .send(plans, n -> {}))
          .hasMessageContaining("wrong token");
      assertThat(dest).doesNotExist();
      // the right sender still gets through afterwards
      new DiskSender("127.0.0.1", r.port(), TOKEN, 0, Optional.empty()).send(plans, n -> {});
      assertThat(Files.mismatch(src, dest.resolve("disk"))).isEqualTo(-1);
    }
  }

  @Test
  void corruptedTransferIsRefused() throws Exception {
    Path dest = tmp.resolve("dest");
    try (DiskReceiver r = receiver(dest, Optional.empty());
        Socket s = new Socket("127.0.0.1", r.port())) {
      var out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
      var in = new DataInputStream(s.getInputStream());
      out.writeByte(DiskTransferProtocol.HELLO);
      out.writeUTF(DiskTransferProtocol.MAGIC);
      out.writeUTF(TOKEN);
      out.flush();
      DiskTransferProtocol.expectOk(in, "hello");
      byte[] data = new byte[4096];
      new Random(1).nextBytes(data);
      var md = DiskTransferProtocol.digest();
      DiskTransferProtocol.digestHeader(md, 0, data.length);
      md.update(data);
      byte[] digest = DiskTransferProtocol.digestEnd(md, 8192);
      data[100] ^= 1; // one bit flipped on the way
      out.writeByte(DiskTransferProtocol.FILE);
      out.writeUTF("disk");
      out.writeLong(8192);
      out.writeLong(4096);
      out.writeByte(DiskTransferProtocol.DATA);
      out.writeLong(0);
      out.writeInt(data.length);
      out.write(data);
      out.writeByte(DiskTransferProtocol.END);
      out.write(digest);
      out.flush();
      assertThatThrownBy(() -> DiskTransferProtocol.expectOk(in, "disk"))
          .hasMessageContaining("corrupted");
      await().atMost(Duration.ofSeconds(5)).until(() -> !Files.exists(dest.resolve("disk.part")));
      assertThat(dest.resolve("disk")).doesNotExist();
      assertThat(r.isCompleted()).isFalse();
    }
  }

  @Test
  void pathEscapingNamesAreRefused() throws Exception {
    for (String bad : List.of("../evil", "a/b", ".hidden", "x..y", "")) {
      assertThat(DiskTransferProtocol.safeName(bad)).as(bad).isFalse();
    }
    assertThat(DiskTransferProtocol.safeName("disk.local")).isTrue();
  }

  @Test
  void killMidTransferRemovesThePartialFileAndFailsTheSender() throws Exception {
    Path src = tmp.resolve("src").resolve("disk");
    Files.createDirectories(src.getParent());
    byte[] data = new byte[8 << 20];
    new Random(3).nextBytes(data);
    Files.write(src, data);
    Path dest = tmp.resolve("dest");
    DiskReceiver r = receiver(dest, Optional.empty());
    AtomicLong done = new AtomicLong();
    var plans = DiskSender.plan(List.of(src));
    // 2 MiB/s: the 8 MiB take ~4 s, so the kill lands mid-file
    var sending =
        CompletableFuture.runAsync(
            () -> {
              try {
                new DiskSender("127.0.0.1", r.port(), TOKEN, 2L << 20, Optional.empty())
                    .send(plans, done::set);
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    await().atMost(Duration.ofSeconds(10)).until(() -> done.get() >= 2L << 20);
    assertThat(dest.resolve("disk.part")).exists();
    r.close();
    assertThatThrownBy(sending::join).hasRootCauseInstanceOf(IOException.class);
    assertThat(dest.resolve("disk.part")).doesNotExist();
    assertThat(dest.resolve("disk")).doesNotExist();
    assertThat(done.get()).isLessThan(8L << 20);
  }

  @Test
  void bandwidthCapIsHonoured() throws Exception {
    Path src = tmp.resolve("src").resolve("disk");
    Files.createDirectories(src.getParent());
    byte[] data = new byte[3 << 20];
    new Random(5).nextBytes(data);
    Files.write(src, data);
    try (DiskReceiver r = receiver(tmp.resolve("dest"), Optional.empty())) {
      long t0 = System.nanoTime();
      new DiskSender("127.0.0.1", r.port(), TOKEN, 4L << 20, Optional.empty())
          .send(DiskSender.plan(List.of(src)), n -> {});
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(ms).as("3 MiB at 4 MiB/s").isGreaterThanOrEqualTo(700);
    }
  }

  @Test
  void tlsWithMutualCertificates() throws Exception {
    Path ks = tmp.resolve("host.p12");
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-keyalg",
                "EC",
                "-alias",
                "host",
                "-dname",
                "CN=virga-host",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                ks.toString(),
                "-storepass",
                "secret1",
                "-keypass",
                "secret1")
            .inheritIO()
            .start();
    assertThat(p.waitFor()).isZero();
    SSLContext ctx = DiskTransferTls.context(ks, "secret1");
    Path src = sparseDisk("disk");
    Path dest = tmp.resolve("dest");
    try (DiskReceiver r = receiver(dest, Optional.of(ctx))) {
      // a plain-text sender is not understood by a TLS receiver
      assertThatThrownBy(
              () ->
                  new DiskSender("127.0.0.1", r.port(), TOKEN, 0, Optional.empty())
                      .send(DiskSender.plan(List.of(src)), n -> {}))
          .isInstanceOf(IOException.class);
      new DiskSender("127.0.0.1", r.port(), TOKEN, 0, Optional.of(ctx))
          .send(DiskSender.plan(List.of(src)), n -> {});
    }
    assertThat(Files.mismatch(src, dest.resolve("disk"))).isEqualTo(-1);
    assertThat(allocatedBytes(dest.resolve("disk"))).isLessThan(2L << 20);
  }

  @Test
  void extentsOfAHoleOnlyFileAreEmpty() throws Exception {
    Path f = tmp.resolve("holes");
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(1L << 30);
    }
    assertThat(SparseFiles.dataExtents(f, 1L << 30)).isEmpty();
    List<SparseFiles.Extent> none = new ArrayList<>(SparseFiles.dataExtents(f, 0));
    assertThat(none).isEmpty();
  }
}
