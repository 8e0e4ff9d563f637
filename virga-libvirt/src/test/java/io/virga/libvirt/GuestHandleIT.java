package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.virga.virt.InstanceSpec;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * A domain handle is never freed under a call that uses it (FoundationDB's rule): {@link
 * Guest#close()} waits for a managed save in flight — seconds under TCG — and only then frees; a
 * call after that fails cleanly instead of touching freed memory.
 */
class GuestHandleIT {
  @Test
  void closeWaitsForTheCallInFlightAndLaterCallsFailCleanly() throws Exception {
    try (var fx = new LibvirtDriverFixture();
        ExecutorService caller = Executors.newSingleThreadExecutor()) {
      InstanceSpec spec =
          fx.spawn(
              fx.spec(
                  "handle-it",
                  LibvirtDriverFixture.flavor(128, 0, 0),
                  fx.diskImage(Map.of()),
                  Optional.empty()));
      Guest g = fx.driver.host().lookup(spec.uuid()).orElseThrow();
      CompletableFuture<Void> save = CompletableFuture.runAsync(g::managedSave, caller);
      await().atMost(Duration.ofSeconds(30)).until(() -> g.callsInFlight() > 0 || save.isDone());
      assertThat(save).as("the save is still running when close() is called").isNotDone();

      g.close();

      assertThat(save).as("close() returned only after the save finished").isDone();
      save.join(); // and the save itself succeeded on the handle close() had to wait for
      assertThatThrownBy(g::name)
          .isInstanceOf(LibvirtException.class)
          .hasMessageContaining("handle already freed");
      try (Guest again = fx.driver.host().lookup(spec.uuid()).orElseThrow()) {
        assertThat(again.hasManagedSave()).isTrue();
      }
    }
  }
}
