package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileLockTest {
  @TempDir Path tmp;

  @Test
  void threadsOfOneJvmExcludeEachOther() throws Exception {
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    for (int i = 0; i < 64; i++) {
      pool.submit(
          () -> {
            try (FileLock l = FileLock.acquire(tmp, "base")) {
              maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
              Thread.sleep(2);
              inside.decrementAndGet();
            }
            return null;
          });
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(maxInside.get()).isEqualTo(1);
    assertThat(tmp.resolve("base.lock")).exists();
  }

  @Test
  void differentNamesDoNotBlockAndOneThreadMayReenter() throws Exception {
    try (FileLock a = FileLock.acquire(tmp, "a");
        FileLock a2 = FileLock.acquire(tmp, "a");
        FileLock b = FileLock.acquire(tmp, "b")) {
      Thread other = Thread.ofPlatform().start(() -> FileLock.acquire(tmp, "c").close());
      other.join(5000);
      assertThat(other.isAlive()).isFalse();
    }
    // Released completely: another thread gets it at once.
    Thread t = Thread.ofPlatform().start(() -> FileLock.acquire(tmp, "a").close());
    t.join(5000);
    assertThat(t.isAlive()).isFalse();
  }

  @Test
  void namesThatEscapeTheLockDirAreRefused() {
    assertThatThrownBy(() -> FileLock.acquire(tmp, "../x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FileLock.acquire(tmp, ""))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
