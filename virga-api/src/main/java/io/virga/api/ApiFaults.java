package io.virga.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.virga.core.VirgaException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where errors become OpenStack fault bodies: {@code {"itemNotFound": {"code": 404,
 * "message": "…"}}}. Every exception a handler throws ends here; nothing escapes as a bare 500.
 */
public final class ApiFaults {
  private static final Logger LOG = LoggerFactory.getLogger(ApiFaults.class);

  private ApiFaults() {}

  /** Nova's fault names by status (nova/api/openstack/wsgi.py); others are computeFault. */
  public static String faultName(int status) {
    return switch (status) {
      case 400 -> "badRequest";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "itemNotFound";
      case 405 -> "badMethod";
      case 409 -> "conflictingRequest";
      case 413, 429 -> "overLimit";
      case 415 -> "badMediaType";
      case 501 -> "notImplemented";
      case 503 -> "serviceUnavailable";
      default -> "computeFault";
    };
  }

  /** Writes a fault body with the given status. */
  public static void write(Context ctx, int status, String message) {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("code", status);
    inner.put("message", message);
    ctx.status(status);
    if (status == 401) {
      ctx.header("WWW-Authenticate", "Keystone uri=\"" + ApiServer.publicUrl(ctx) + "/identity\"");
    }
    if (ctx.path().startsWith("/identity/")) {
      // Keystone's shape, which keystoneauth reads the message from
      inner.put("title", keystoneTitle(status));
      ctx.json(Map.of("error", inner));
    } else {
      ctx.json(Map.of(faultName(status), inner));
    }
    ctx.attribute(ATTR_FAULT, Boolean.TRUE);
  }

  static final String ATTR_FAULT = "virga.fault";

  private static String keystoneTitle(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 409 -> "Conflict";
      case 413 -> "Request Entity Too Large";
      default -> "Internal Server Error";
    };
  }

  /** Maps any exception to a fault; unexpected ones are logged with their stack and request id. */
  static void handle(Exception e, Context ctx) {
    int status;
    String message;
    if (e instanceof VirgaException ve) {
      status = ve.httpStatus();
      message = ve.getMessage();
    } else if (e instanceof JsonProcessingException je) {
      status = 400;
      message = "Malformed request body: " + je.getOriginalMessage();
    } else if (e instanceof HttpResponseException he) {
      status = he.getStatus();
      message = he.getMessage();
    } else {
      status = 500;
      message =
          "Unexpected API error ("
              + e.getClass().getSimpleName()
              + "); the server log has the details under request id "
              + ctx.attribute(ApiServer.ATTR_REQUEST_ID);
    }
    if (status >= 500) {
      LOG.error(
          "{} {} failed with {} [{}]",
          ctx.method(),
          ctx.path(),
          status,
          ctx.attribute(ApiServer.ATTR_REQUEST_ID),
          e);
    } else {
      LOG.debug("{} {} → {}: {}", ctx.method(), ctx.path(), status, message);
    }
    write(ctx, status, message == null ? "error " + status : message);
  }
}
