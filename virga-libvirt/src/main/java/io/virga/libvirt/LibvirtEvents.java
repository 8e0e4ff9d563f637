package io.virga.libvirt;

import io.virga.virt.LifecycleEvent;
import java.util.Optional;
import org.libvirt.Connect;
import org.libvirt.Library;
import org.libvirt.event.DomainEvent;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import org.libvirt.jna.Libvirt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Part of the libvirt wrapper ({@link LibvirtHost}): libvirt's process-wide default event loop,
 * started once before the first connection, and Nova's mapping of lifecycle events.
 */
final class LibvirtEvents {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtEvents.class);

  /** Held for the life of the JVM: JNA would otherwise collect the callback libvirt calls. */
  private static final Libvirt.VirErrorCallback SILENT_ERRORS = (userData, error) -> {};

  private static final Object LOOP_LOCK = new Object();
  private static boolean loopStarted;

  private LibvirtEvents() {}

  /** libvirt's default event loop on a daemon thread, registered before any connection opens. */
  static void ensureEventLoop() {
    synchronized (LOOP_LOCK) {
      if (loopStarted) {
        return;
      }
      try {
        Connect.setErrorCallback(SILENT_ERRORS);
        Library.initEventLoop();
      } catch (org.libvirt.LibvirtException e) {
        throw LibvirtHost.wrap("start libvirt event loop", e);
      }
      Thread t =
          Thread.ofPlatform()
              .name("libvirt-event-loop")
              .daemon()
              .start(
                  () ->
                      runEventLoop(
                          () -> {
                            Library.processEvent();
                            return null;
                          }));
      LOG.debug("libvirt event loop started on {}", t.getName());
      loopStarted = true;
    }
  }

  /**
   * Runs {@code processEvent} until the thread is interrupted. A failed iteration is logged and the
   * loop goes on: libvirt-java's own loop ends for good on its first exception, and with it every
   * lifecycle event and the close callback that triggers a reconnect.
   */
  static void runEventLoop(LibvirtHost.NativeCall<?> processEvent) {
    long failures = 0;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        processEvent.call();
        failures = 0;
      } catch (org.libvirt.LibvirtException | RuntimeException e) {
        failures++;
        if (failures == 1 || Long.bitCount(failures) == 1) { // 1, 2, 4, 8…: no log flood
          LOG.warn("libvirt event loop iteration failed ({} in a row): {}", failures, e.toString());
        }
        try {
          Thread.sleep(Math.min(failures * 10, 1000));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** Nova's mapping of libvirt lifecycle events (host.py: _event_lifecycle_callback). */
  static Optional<LifecycleEvent.Transition> transition(DomainEvent event) {
    DomainEventType type = event.getType();
    Object detail = event.getDetail();
    return Optional.ofNullable(
        switch (type) {
          case STARTED, RESUMED -> LifecycleEvent.Transition.valueOf(type.name());
          case STOPPED ->
              detail == StoppedDetail.SAVED
                  ? LifecycleEvent.Transition.SUSPENDED
                  : detail == StoppedDetail.CRASHED
                      ? LifecycleEvent.Transition.CRASHED
                      : LifecycleEvent.Transition.STOPPED;
          case SUSPENDED ->
              detail == SuspendedDetail.PAUSED || detail == SuspendedDetail.API_ERROR
                  ? LifecycleEvent.Transition.PAUSED
                  : detail == SuspendedDetail.IOERROR || detail == SuspendedDetail.WATCHDOG
                      ? LifecycleEvent.Transition.PAUSED
                      : null;
          case CRASHED -> LifecycleEvent.Transition.CRASHED;
          default -> null;
        });
  }
}
