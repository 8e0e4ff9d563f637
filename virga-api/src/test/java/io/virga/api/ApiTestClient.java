package io.virga.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

/** A small java.net.http client for route tests (real HTTP against a running ApiServer). */
final class ApiTestClient {
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;

  ApiTestClient(String base) {
    this.base = base;
  }

  record Response(int status, Map<String, java.util.List<String>> headers, byte[] body) {
    JsonNode json() {
      try {
        return ApiJson.MAPPER.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException(new String(body), e);
      }
    }

    String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }

    String text() {
      return new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  Response send(
      String method,
      String path,
      String token,
      String contentType,
      HttpRequest.BodyPublisher body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).method(method, body);
    if (token != null) {
      b.header("X-Auth-Token", token);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Response(r.statusCode(), r.headers().map(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Response get(String path, String token) {
    return send("GET", path, token, null, HttpRequest.BodyPublishers.noBody());
  }

  Response delete(String path, String token) {
    return send("DELETE", path, token, null, HttpRequest.BodyPublishers.noBody());
  }

  Response post(String path, String token, String json) {
    return send("POST", path, token, "application/json", HttpRequest.BodyPublishers.ofString(json));
  }

  Response patch(String path, String token, String contentType, String json) {
    return send("PATCH", path, token, contentType, HttpRequest.BodyPublishers.ofString(json));
  }

  /** A body sent with chunked transfer encoding (no Content-Length). */
  Response putChunked(String path, String token, String contentType, InputStream data) {
    return send(
        "PUT", path, token, contentType, HttpRequest.BodyPublishers.ofInputStream(() -> data));
  }

  InputStream download(String path, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    b.header("X-Auth-Token", token);
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream()).body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String passwordAuth(String user, String password, String project) {
    return """
        {"auth": {"identity": {"methods": ["password"], "password": {"user":
          {"name": "%s", "domain": {"name": "Default"}, "password": "%s"}}},
         "scope": {"project": {"name": "%s", "domain": {"id": "default"}}}}}
        """
        .formatted(user, password, project);
  }

  /** Issues a token for user/password scoped to project; fails the test if that does not work. */
  String token(String user, String password, String project) {
    Response r = post("/identity/v3/auth/tokens", null, passwordAuth(user, password, project));
    if (r.status() != 201) {
      throw new AssertionError("token issue failed: " + r.status() + " " + r.text());
    }
    return r.header("X-Subject-Token");
  }
}
