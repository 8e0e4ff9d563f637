package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.virga.virt.LifecycleEvent.Transition;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;

/** Nova's mapping of libvirt lifecycle events and the event loop's resilience, without libvirt. */
class LibvirtHostTest {
  private static Object map(DomainEventType type, int detail) {
    return LibvirtEvents.transition(new DomainEvent(type, detail)).orElse(null);
  }

  @Test
  void lifecycleEventsMapAsNovaMapsThem() {
    assertThat(map(DomainEventType.STARTED, 0)).isEqualTo(Transition.STARTED);
    assertThat(map(DomainEventType.RESUMED, 0)).isEqualTo(Transition.RESUMED);
    assertThat(map(DomainEventType.SUSPENDED, 0)).isEqualTo(Transition.PAUSED); // paused
    assertThat(map(DomainEventType.STOPPED, 0)).isEqualTo(Transition.STOPPED); // shutdown
    assertThat(map(DomainEventType.STOPPED, 1)).isEqualTo(Transition.STOPPED); // destroyed
    assertThat(map(DomainEventType.STOPPED, 2)).isEqualTo(Transition.CRASHED); // crashed
    assertThat(map(DomainEventType.STOPPED, 4)).isEqualTo(Transition.SUSPENDED); // saved
    assertThat(map(DomainEventType.CRASHED, 0)).isEqualTo(Transition.CRASHED);
    assertThat(map(DomainEventType.DEFINED, 0)).isNull();
    assertThat(map(DomainEventType.UNDEFINED, 0)).isNull();
  }

  @Test
  void theEventLoopKeepsRunningAfterAFailedIteration() {
    AtomicInteger calls = new AtomicInteger();
    Thread.ofPlatform()
        .start(
            () ->
                LibvirtEvents.runEventLoop(
                    () -> {
                      int n = calls.incrementAndGet();
                      if (n <= 2) {
                        throw new IllegalStateException("virEventRunDefaultImpl failed " + n);
                      }
                      if (n == 5) {
                        Thread.currentThread().interrupt(); // the only way the loop ends
                      }
                      return null;
                    }));
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() == 5);
  }
}
