package io.virga.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.virga.rpc.RpcTransport;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * An RPC transport that measures what passes through it: call latency ({@code
 * virga_rpc_call_seconds}) and failures ({@code virga_rpc_errors_total}, timeouts included) and
 * casts sent, by kind of topic ({@code conductor}, {@code compute}) so 1,000 hosts stay 2 series.
 */
final class ObservedTransport implements RpcTransport {
  private final RpcTransport inner;
  private final MeterRegistry registry;

  ObservedTransport(RpcTransport inner, MeterRegistry registry) {
    this.inner = inner;
    this.registry = registry;
  }

  static String kind(String topic) {
    int dot = topic.indexOf('.');
    return dot < 0 ? topic : topic.substring(0, dot);
  }

  @Override
  public void cast(String topic, byte[] message) {
    try {
      inner.cast(topic, message);
      Counter.builder("virga_rpc_casts").tag("topic", kind(topic)).register(registry).increment();
    } catch (RuntimeException e) {
      errors(topic, "cast").increment();
      throw e;
    }
  }

  @Override
  public CompletableFuture<byte[]> call(String topic, byte[] message, Duration timeout) {
    long t0 = System.nanoTime();
    return inner
        .call(topic, message, timeout)
        .whenComplete(
            (reply, error) -> {
              Timer.builder("virga_rpc_call")
                  .tag("topic", kind(topic))
                  .publishPercentileHistogram()
                  .register(registry)
                  .record(Duration.ofNanos(System.nanoTime() - t0));
              if (error != null) {
                errors(topic, "call").increment();
              }
            });
  }

  private Counter errors(String topic, String what) {
    return Counter.builder("virga_rpc_errors")
        .tag("topic", kind(topic))
        .tag("type", what)
        .register(registry);
  }

  @Override
  public Listener listen(String topic, Handler handler) {
    return inner.listen(topic, handler);
  }

  @Override
  public void close() {
    inner.close();
  }

  @Override
  public String toString() {
    return inner.toString();
  }
}
