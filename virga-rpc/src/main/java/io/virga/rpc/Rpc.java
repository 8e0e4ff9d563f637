package io.virga.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.virga.core.ComputeAgentApi;
import io.virga.core.ConductorApi;
import io.virga.core.VirgaException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Typed RPC over a {@link RpcTransport}: callers and servers use the contract interfaces ({@code
 * ComputeAgentApi}, {@code ConductorApi}) directly.
 *
 * <pre>{@code
 * ComputeAgentApi agent = Rpc.client(ComputeAgentApi.class, transport, Rpc.computeTopic("host1"));
 * agent.stopInstance(uuid);                 // void: a cast, returns at once
 * String log = agent.getConsoleOutput(uuid, 50);  // a call, waits up to the timeout
 * try (var l = Rpc.serve(transport, Rpc.CONDUCTOR, ConductorApi.class, conductor)) { … }
 * }</pre>
 *
 * <p>Methods returning void are casts and all others calls, except with {@link #callingClient}
 * (used for ConductorApi, whose void methods must be applied in order and report errors). Arguments
 * and results travel as JSON (Jackson, with Optional and java.time support) even in-process, so a
 * broker transport changes nothing for callers. The SLF4J MDC key {@code request_id} travels with
 * every message and is set around the server-side invocation. A {@link VirgaException} thrown by
 * the server is rethrown to the caller with its type, message and HTTP status; any other error
 * becomes a {@link RemoteException} with status 500. Overloaded methods are refused (the wire names
 * methods only).
 */
public final class Rpc {
  /** The conductor's topic (the API side serving ConductorApi). */
  public static final String CONDUCTOR = "conductor";

  /** Call timeout when none is given (oslo.messaging's rpc_response_timeout). */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /** MDC key carried across RPC. */
  public static final String REQUEST_ID = "request_id";

  private static final Logger log = LoggerFactory.getLogger(Rpc.class);

  private Rpc() {}

  /** A compute agent's topic: {@code compute.<host>}. */
  public static String computeTopic(String host) {
    return "compute." + host;
  }

  public static <T> T client(Class<T> api, RpcTransport transport, String topic) {
    return client(api, transport, topic, DEFAULT_TIMEOUT);
  }

  /**
   * A proxy implementing {@code api} by sending each invocation to {@code topic}: void methods are
   * casts, the others calls.
   */
  public static <T> T client(
      Class<T> api, RpcTransport transport, String topic, Duration callTimeout) {
    return proxy(api, transport, topic, callTimeout, true);
  }

  /**
   * A proxy where every method, void ones included, is a call: the caller learns of errors and
   * successive invocations are applied in order (ConductorApi's rule).
   */
  public static <T> T callingClient(
      Class<T> api, RpcTransport transport, String topic, Duration callTimeout) {
    return proxy(api, transport, topic, callTimeout, false);
  }

  /** The agent's conductor: {@link ConductorApi} on topic {@link #CONDUCTOR}, all calls. */
  public static ConductorApi conductor(RpcTransport transport) {
    return conductor(transport, DEFAULT_TIMEOUT);
  }

  public static ConductorApi conductor(RpcTransport transport, Duration callTimeout) {
    return callingClient(ConductorApi.class, transport, CONDUCTOR, callTimeout);
  }

  /** The API side's handle on one host's agent: void methods cast. */
  public static ComputeAgentApi computeAgent(RpcTransport transport, String host) {
    return client(ComputeAgentApi.class, transport, computeTopic(host), DEFAULT_TIMEOUT);
  }

  private static <T> T proxy(
      Class<T> api, RpcTransport transport, String topic, Duration callTimeout, boolean castVoids) {
    methodsByName(api);
    InvocationHandler h =
        (proxy, method, args) -> {
          if (method.getDeclaringClass() == Object.class) {
            return switch (method.getName()) {
              case "toString" -> "rpc:" + api.getSimpleName() + "@" + topic;
              case "hashCode" -> System.identityHashCode(proxy);
              case "equals" -> proxy == args[0];
              default -> throw new UnsupportedOperationException(method.getName());
            };
          }
          Optional<String> rid = Optional.ofNullable(MDC.get(REQUEST_ID));
          boolean cast = castVoids && method.getReturnType() == void.class;
          byte[] msg = RpcCodec.request(method.getName(), args, rid, cast);
          if (cast) {
            transport.cast(topic, msg);
            return null;
          }
          byte[] reply = await(transport, topic, msg, method, callTimeout);
          JsonNode result = RpcCodec.readReply(reply, api.getClassLoader());
          return RpcCodec.convert(result, method.getGenericReturnType());
        };
    return api.cast(Proxy.newProxyInstance(api.getClassLoader(), new Class<?>[] {api}, h));
  }

  private static byte[] await(
      RpcTransport transport, String topic, byte[] msg, Method method, Duration timeout) {
    try {
      // the transport enforces the timeout; the extra second only guards against a lost future
      return transport
          .call(topic, msg, timeout)
          .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new VirgaException("rpc " + topic + " " + method.getName() + " failed", e.getCause());
    } catch (TimeoutException e) {
      throw new RpcTimeoutException(
          "no reply from " + topic + " to " + method.getName() + " within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VirgaException("interrupted waiting for " + topic + " " + method.getName(), e);
    }
  }

  /**
   * Serves {@code impl} on {@code topic} until the returned listener is closed. Each message runs
   * on a transport thread; a cast's errors are logged, a call's are sent back.
   */
  public static <T> RpcTransport.Listener serve(
      RpcTransport transport, String topic, Class<T> api, T impl) {
    Map<String, Method> methods = methodsByName(api);
    return transport.listen(topic, bytes -> dispatch(topic, methods, impl, bytes));
  }

  private static byte[] dispatch(
      String topic, Map<String, Method> methods, Object impl, byte[] in) {
    RpcCodec.Request req;
    try {
      req = RpcCodec.readRequest(in);
    } catch (RuntimeException e) {
      log.error("rpc {}: dropping a malformed message: {}", topic, e.getMessage());
      return RpcCodec.error(e);
    }
    String previous = MDC.get(REQUEST_ID);
    req.requestId().ifPresent(r -> MDC.put(REQUEST_ID, r));
    try {
      Method m = methods.get(req.method());
      if (m == null) {
        throw new VirgaException("rpc " + topic + ": no method " + req.method());
      }
      Object[] args = new Object[m.getParameterCount()];
      var types = m.getGenericParameterTypes();
      for (int i = 0; i < args.length; i++) {
        args[i] = RpcCodec.convert(req.args().get(i), types[i]);
      }
      Object result = invoke(m, impl, args);
      return RpcCodec.result(result);
    } catch (VirgaException e) {
      if (req.cast()) {
        log.warn("rpc {} cast {} failed: {}", topic, req.method(), e.toString());
      } else {
        log.debug("rpc {} {} raised {}", topic, req.method(), e.toString());
      }
      return RpcCodec.error(e);
    } catch (RuntimeException | Error e) {
      log.error("rpc {} {} failed unexpectedly", topic, req.method(), e);
      return RpcCodec.error(e);
    } finally {
      if (previous == null) {
        MDC.remove(REQUEST_ID);
      } else {
        MDC.put(REQUEST_ID, previous);
      }
    }
  }

  private static Object invoke(Method m, Object impl, Object[] args) {
    try {
      return m.invoke(impl, args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new VirgaException(m.getName() + " failed: " + e.getCause(), e.getCause());
    } catch (IllegalAccessException e) {
      throw new VirgaException("rpc: cannot invoke " + m.getName(), e);
    }
  }

  private static Map<String, Method> methodsByName(Class<?> api) {
    if (!api.isInterface()) {
      throw new IllegalArgumentException(api + " is not an interface");
    }
    Map<String, Method> byName = new HashMap<>();
    for (Method m : api.getMethods()) {
      if (Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      if (byName.put(m.getName(), m) != null) {
        throw new IllegalArgumentException(
            api.getName() + "." + m.getName() + " is overloaded; RPC names methods only");
      }
    }
    return Map.copyOf(byName);
  }

  /** JSON of a record with the RPC codec (for opaque hand-off arguments such as driver data). */
  public static String toJson(Object value) {
    try {
      return RpcCodec.MAPPER.writeValueAsString(value);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("cannot encode " + value.getClass().getSimpleName(), e);
    }
  }

  /** The inverse of {@link #toJson}. */
  public static <T> T fromJson(String json, Class<T> type) {
    try {
      return RpcCodec.MAPPER.readValue(json, type);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot decode " + type.getSimpleName(), e);
    }
  }
}
