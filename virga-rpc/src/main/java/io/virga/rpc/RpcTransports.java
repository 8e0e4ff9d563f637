package io.virga.rpc;

import io.virga.core.Config;
import io.virga.core.InvalidInputException;
import java.net.URI;
import java.time.Duration;

/**
 * Opens the transport the configuration names. Options: {@code transport_url} ({@code in-process},
 * the default, for {@code virga up}; {@code amqp://user:pass@host:5672/%2F} for RabbitMQ), {@code
 * executor_thread_pool_size} (64: threads per served topic), {@code rpc_response_timeout} (60 s:
 * how long a call waits for its reply; see {@link #callTimeout}).
 */
public final class RpcTransports {
  private RpcTransports() {}

  public static RpcTransport fromConfig(Config config) {
    String url = config.string("transport_url", "in-process");
    int threads = config.integer("executor_thread_pool_size", 64);
    if (url.equals("in-process")) {
      return new InProcessTransport(threads);
    }
    if (url.startsWith("amqp://") || url.startsWith("amqps://")) {
      return RabbitTransport.connect(URI.create(url), threads);
    }
    throw new InvalidInputException(
        "transport_url must be 'in-process' or an amqp:// URL, not '" + redact(url) + "'");
  }

  /** {@code rpc_response_timeout}: the call timeout to give {@link Rpc} clients. */
  public static Duration callTimeout(Config config) {
    return config.seconds("rpc_response_timeout", Rpc.DEFAULT_TIMEOUT.toSeconds());
  }

  /** Never log a password from a URL. */
  static String redact(String url) {
    return url.replaceAll("//[^@/]*@", "//***@");
  }
}
