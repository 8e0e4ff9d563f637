package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The host layer against a libvirtd whose socket goes away: the connection runs through a unix
 * socket proxy in this test; closing the proxy fires libvirt's close callback, the host reports
 * itself down while nothing listens, and once a proxy listens again it reconnects by itself.
 */
class LibvirtHostReconnectIT {
  private static final Path LIBVIRT_SOCK = Path.of("/run/libvirt/libvirt-sock");

  /** Forwards every connection on {@code listen} to libvirtd's socket; {@link #cut} drops all. */
  static final class Proxy implements AutoCloseable {
    private final Path listen;
    private final ServerSocketChannel server;
    private final List<SocketChannel> open = new CopyOnWriteArrayList<>();

    Proxy(Path listen) throws IOException {
      this.listen = listen;
      Files.deleteIfExists(listen);
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(listen));
      Thread.ofPlatform().daemon().start(this::acceptLoop);
    }

    private void acceptLoop() {
      try {
        while (true) {
          SocketChannel client = server.accept();
          SocketChannel upstream = SocketChannel.open(UnixDomainSocketAddress.of(LIBVIRT_SOCK));
          open.add(client);
          open.add(upstream);
          Thread.ofPlatform().daemon().start(() -> pump(client, upstream));
          Thread.ofPlatform().daemon().start(() -> pump(upstream, client));
        }
      } catch (IOException e) {
        // server closed
      }
    }

    private static void pump(SocketChannel from, SocketChannel to) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 16);
      try {
        while (from.read(buf) >= 0) {
          buf.flip();
          while (buf.hasRemaining()) {
            to.write(buf);
          }
          buf.clear();
        }
      } catch (IOException e) {
        // one side closed
      }
      try {
        to.close();
        from.close();
      } catch (IOException e) {
        // already closed
      }
    }

    void cut() throws IOException {
      for (SocketChannel c : open) {
        c.close();
      }
      open.clear();
    }

    @Override
    public void close() throws IOException {
      server.close();
      cut();
      Files.deleteIfExists(listen);
    }
  }

  @Test
  void closeCallbackMarksTheHostDownAndItReconnects() throws Exception {
    Path dir = Files.createTempDirectory("virga-h3-sock-");
    Path sock = dir.resolve("libvirt.sock");
    Proxy proxy = new Proxy(sock);
    try (LibvirtHost host = new LibvirtHost("qemu+unix:///system?socket=" + sock)) {
      String hostname = host.hostname();
      assertThat(hostname).isNotBlank();
      assertThat(host.isUp()).isTrue();

      // libvirtd "goes away": connections dropped, nothing listens
      proxy.close();
      await().atMost(Duration.ofSeconds(30)).until(() -> !host.isUp());
      Thread.sleep(6000); // at least one failed reconnect attempt
      assertThat(host.isUp()).isFalse();

      // it comes back: the host reconnects by itself (retries every 5 s) and answers again
      proxy = new Proxy(sock);
      await().atMost(Duration.ofSeconds(30)).until(host::isUp);
      // a call over the new connection: the same libvirtd answers (a dead one would throw)
      assertThat(host.hostname()).isEqualTo(hostname);
      assertThat(host.lookupByName("virga-no-such-domain-" + System.nanoTime())).isEmpty();
      proxy.close();
    } finally {
      proxy.close();
      Files.deleteIfExists(sock);
      Files.deleteIfExists(dir);
    }
  }
}
