package io.virga.rpc;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.virga.core.VirgaException;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RPC over RabbitMQ for {@code virga api} + {@code virga agent} on several hosts. One durable topic
 * exchange ({@code virga}); each topic is a durable queue of the same name bound with its name as
 * routing key, declared by whoever first sends or listens, so casts wait for an agent that is down.
 * Calls carry a correlation id and {@code reply_to} naming this transport's exclusive reply queue,
 * and expire in the queue when their timeout passes. Messages are acknowledged on receipt (at most
 * once, as oslo.messaging does): an agent that dies mid-action recovers by its start-up rules, not
 * by redelivery.
 */
public final class RabbitTransport implements RpcTransport {
  private static final Logger log = LoggerFactory.getLogger(RabbitTransport.class);
  static final String EXCHANGE = "virga";

  private final Connection connection;
  private final Channel publish;

  /**
   * Declares topics on first use: a broker round trip, on its own channel so that it never holds up
   * the publishes (replies, casts) of other threads behind the publish channel's lock.
   */
  private final Channel declaring;

  private final String replyQueue;
  private final ReplyWaits waiting = new ReplyWaits();
  private final Set<String> declared = ConcurrentHashMap.newKeySet();
  private final int threadsPerListener;

  private RabbitTransport(Connection connection, int threadsPerListener) throws IOException {
    this.connection = connection;
    this.threadsPerListener = threadsPerListener;
    this.publish = connection.createChannel();
    publish.exchangeDeclare(EXCHANGE, BuiltinExchangeType.TOPIC, true);
    this.declaring = connection.createChannel();
    Channel replies = connection.createChannel();
    // Named by us, not by the broker: automatic recovery re-declares it under the same name after
    // a broker restart, so calls made after the reconnect get their replies (a server-named queue
    // comes back under a new name nobody would send to).
    this.replyQueue = "virga.reply." + UUID.randomUUID();
    replies.queueDeclare(replyQueue, false, true, true, null); // exclusive, auto-delete
    replies.basicConsume(
        replyQueue,
        true,
        new DefaultConsumer(replies) {
          @Override
          public void handleDelivery(
              String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
            if (props.getCorrelationId() != null) {
              waiting.complete(props.getCorrelationId(), body);
            }
          }
        });
  }

  /**
   * Connects to a broker, e.g. {@code amqp://guest:guest@127.0.0.1:5672/%2F}; listeners run on up
   * to 64 platform threads each.
   */
  public static RabbitTransport connect(URI amqpUri) {
    return connect(amqpUri, 64);
  }

  public static RabbitTransport connect(URI amqpUri, int threadsPerListener) {
    ConnectionFactory f = new ConnectionFactory();
    try {
      f.setUri(amqpUri);
      f.setAutomaticRecoveryEnabled(true);
      f.setTopologyRecoveryEnabled(true);
      f.setRecoveryDelayHandler(RECOVERY_DELAYS);
      f.setSharedExecutor(ON_READER_THREAD);
      return new RabbitTransport(f.newConnection("virga"), threadsPerListener);
    } catch (IOException | TimeoutException | java.security.GeneralSecurityException e) {
      throw new VirgaException(
          "cannot connect to RabbitMQ at "
              + amqpUri.getHost()
              + ":"
              + amqpUri.getPort()
              + " ("
              + e.getMessage()
              + "); is the broker running and the transport_url right?",
          e);
    } catch (java.net.URISyntaxException e) {
      throw new VirgaException("bad RabbitMQ URI: " + e.getMessage(), e);
    }
  }

  /**
   * Waits between reconnection attempts after a lost connection: 1 s, 1 s, 2 s, 3 s, then every 5 s
   * (oslo.messaging starts at 1 s and backs off too). The client's fixed 5 s would leave an agent
   * unheard-of for up to 10 s after a broker restart that took a few seconds — most of a
   * service_down_time, after which the API deletes the host's instances locally.
   */
  private static final com.rabbitmq.client.RecoveryDelayHandler RECOVERY_DELAYS =
      new com.rabbitmq.client.RecoveryDelayHandler.ExponentialBackoffDelayHandler(
          java.util.List.of(1000L, 1000L, 2000L, 3000L, 5000L));

  /**
   * Runs the client's consumer callbacks on the connection's reader thread, instead of handing each
   * delivery to a pool thread first: this transport's consumers never block (a reply completes its
   * waiting call, a request goes to its topic's listener pool), so that hop was only one more
   * thread woken per message — at a thousand agents, a measurable share of their CPU.
   */
  private static final ExecutorService ON_READER_THREAD =
      new java.util.concurrent.AbstractExecutorService() {
        @Override
        public void execute(Runnable command) {
          command.run();
        }

        @Override
        public void shutdown() {}

        @Override
        public java.util.List<Runnable> shutdownNow() {
          return java.util.List.of();
        }

        @Override
        public boolean isShutdown() {
          return false;
        }

        @Override
        public boolean isTerminated() {
          return false;
        }

        @Override
        public boolean awaitTermination(long timeout, java.util.concurrent.TimeUnit unit) {
          return true;
        }
      };

  private void declare(Channel ch, String topic) throws IOException {
    ch.queueDeclare(topic, true, false, false, null);
    ch.queueBind(topic, EXCHANGE, topic);
  }

  private void ensureTopic(String topic) throws IOException {
    if (!declared.contains(topic)) {
      synchronized (declaring) {
        declare(declaring, topic);
      }
      declared.add(topic);
    }
  }

  /** How long a cast waits for the connection's automatic recovery after a broker restart. */
  private static final long CAST_RECOVERY_WAIT_NANOS = java.time.Duration.ofSeconds(20).toNanos();

  @Override
  public void cast(String topic, byte[] message) {
    long deadline = System.nanoTime() + CAST_RECOVERY_WAIT_NANOS;
    while (true) {
      try {
        castOnce(topic, message);
        return;
      } catch (com.rabbitmq.client.AlreadyClosedException e) {
        // the client is still recovering its connection (a broker restart): the message was not
        // sent, so sending it once recovery is done is safe
        if (System.nanoTime() > deadline) {
          throw new VirgaException(
              "rpc cast to " + topic + " failed (is RabbitMQ reachable?): " + e.getMessage(), e);
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new VirgaException("rpc cast to " + topic + " interrupted", ie);
        }
      }
    }
  }

  private void castOnce(String topic, byte[] message) {
    try {
      ensureTopic(topic);
      AMQP.BasicProperties props =
          new AMQP.BasicProperties.Builder()
              .contentType("application/json")
              .deliveryMode(2)
              .build();
      synchronized (publish) {
        publish.basicPublish(EXCHANGE, topic, props, message);
      }
    } catch (com.rabbitmq.client.AlreadyClosedException e) {
      throw e;
    } catch (IOException | ShutdownSignalException e) {
      throw new VirgaException(
          "rpc cast to " + topic + " failed (is RabbitMQ reachable?): " + e.getMessage(), e);
    }
  }

  @Override
  public CompletableFuture<byte[]> call(String topic, byte[] message, Duration timeout) {
    String id = UUID.randomUUID().toString();
    CompletableFuture<byte[]> reply = waiting.add(id, topic, timeout);
    try {
      ensureTopic(topic);
      AMQP.BasicProperties props =
          new AMQP.BasicProperties.Builder()
              .contentType("application/json")
              .correlationId(id)
              .replyTo(replyQueue)
              .expiration(Long.toString(Math.max(1, timeout.toMillis())))
              .build();
      synchronized (publish) {
        publish.basicPublish(EXCHANGE, topic, props, message);
      }
    } catch (IOException | ShutdownSignalException e) {
      waiting.remove(id);
      return CompletableFuture.failedFuture(
          new VirgaException(
              "rpc call to " + topic + " failed (is RabbitMQ reachable?): " + e.getMessage(), e));
    }
    return reply;
  }

  @Override
  public Listener listen(String topic, Handler handler) {
    try {
      Channel ch = connection.createChannel();
      declare(ch, topic);
      declared.add(topic);
      ch.basicQos(threadsPerListener);
      ExecutorService pool = RpcThreads.listenerPool(topic, threadsPerListener);
      String tag =
          ch.basicConsume(
              topic,
              true,
              new DefaultConsumer(ch) {
                @Override
                public void handleDelivery(
                    String consumerTag, Envelope env, AMQP.BasicProperties props, byte[] body) {
                  pool.execute(() -> handle(topic, handler, props, body));
                }
              });
      return () -> {
        try {
          ch.basicCancel(tag);
          ch.close();
        } catch (IOException | TimeoutException | com.rabbitmq.client.AlreadyClosedException e) {
          log.debug("closing the {} listener: {}", topic, e.toString());
        }
        pool.shutdown();
      };
    } catch (IOException e) {
      throw new VirgaException("cannot listen on " + topic + ": " + e.getMessage(), e);
    }
  }

  private void handle(String topic, Handler handler, AMQP.BasicProperties props, byte[] body) {
    byte[] out;
    try {
      out = handler.handle(body);
    } catch (RuntimeException e) {
      log.error("rpc {}: handler failed", topic, e);
      out = RpcCodec.error(e);
    }
    if (props.getReplyTo() == null || props.getCorrelationId() == null) {
      return; // a cast
    }
    AMQP.BasicProperties rp =
        new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .correlationId(props.getCorrelationId())
            .build();
    try {
      synchronized (publish) {
        publish.basicPublish("", props.getReplyTo(), rp, out);
      }
    } catch (IOException | ShutdownSignalException e) {
      log.warn("rpc {}: cannot send a reply: {}", topic, e.toString());
    }
  }

  @Override
  public void close() {
    waiting.closeAll(new VirgaException("rpc transport closed"));
    try {
      connection.close();
    } catch (IOException | com.rabbitmq.client.AlreadyClosedException e) {
      log.debug("closing the RabbitMQ connection: {}", e.toString());
    }
  }
}
