package io.virga.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.virga.virt.LifecycleEvent.Transition;
import org.junit.jupiter.api.Test;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;

/** Nova's mapping of libvirt lifecycle events, without libvirt. */
class LibvirtHostTest {
  private static Object map(DomainEventType type, int detail) {
    return LibvirtHost.transition(new DomainEvent(type, detail)).orElse(null);
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
}
