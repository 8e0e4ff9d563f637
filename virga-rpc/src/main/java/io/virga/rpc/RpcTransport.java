package io.virga.rpc;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Moves opaque messages (JSON bytes made by {@link Rpc}) to the listeners of a topic. A topic is a
 * named queue: each message goes to one of its listeners (competing consumers), and messages cast
 * while no one listens wait for the first listener, as with a durable broker queue. Callers never
 * use a transport directly; they use {@link Rpc#client} and {@link Rpc#serve}.
 *
 * <p>Implementations: {@link InProcessTransport} for {@code virga up}; a broker transport
 * (RabbitMQ: a topic exchange, one queue per topic, a reply queue per client with correlation ids)
 * fits the same three operations.
 */
public interface RpcTransport extends AutoCloseable {

  /** Fire and forget: returns once the message is queued. */
  void cast(String topic, byte[] message);

  /**
   * Request/response: the future completes with the listener's reply, or fails with {@link
   * RpcTimeoutException} when none arrives within {@code timeout}.
   */
  CompletableFuture<byte[]> call(String topic, byte[] message, Duration timeout);

  /** Starts consuming a topic until the returned listener is closed. */
  Listener listen(String topic, Handler handler);

  /** Stops every listener and fails calls still waiting. */
  @Override
  void close();

  /** Handles one message on a transport thread; the reply is sent back for calls only. */
  @FunctionalInterface
  interface Handler {
    byte[] handle(byte[] message);
  }

  /** A running consumer of a topic. */
  interface Listener extends AutoCloseable {
    @Override
    void close();
  }
}
