package io.virga.compute;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.virga.core.Config;
import io.virga.core.ImageMeta;
import io.virga.core.Instance;
import io.virga.core.VirgaException;
import io.virga.virt.ImageSource;
import io.virga.virt.SnapshotUpload;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's way to the image service on another machine: the image API over HTTP (Glance v2),
 * authenticated with a service credential (a Keystone v3 password token, renewed before it expires
 * or when refused). Bases are streamed into the driver's file with their MD5 checked against the
 * API's {@code Content-MD5}; snapshots are streamed up with {@code PUT …/file}; unfinished snapshot
 * entries are deleted. The agent never reads the image store's files.
 *
 * <p>Options: {@code image_api_url} (default {@code http://127.0.0.1:8774/image}), {@code auth_url}
 * ({@code http://127.0.0.1:8774/identity/v3}), {@code service_user} ({@code virga-agent}), {@code
 * service_password} (required), {@code service_project} ({@code service}).
 */
public final class ImageApiClient implements ImageSourceFactory {
  private static final Logger LOG = LoggerFactory.getLogger(ImageApiClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private final URI images;
  private final URI auth;
  private final String user;
  private final String password;
  private final String project;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private String token;
  private Instant tokenExpires = Instant.EPOCH;

  public ImageApiClient(URI imageApi, URI authUrl, String user, String password, String project) {
    this.images = URI.create(strip(imageApi.toString()) + "/v2/images/");
    this.auth = URI.create(strip(authUrl.toString()) + "/auth/tokens");
    this.user = user;
    this.password = password;
    this.project = project;
  }

  public static ImageApiClient fromConfig(Config c) {
    String password =
        c.get("service_password")
            .filter(p -> !p.isEmpty())
            .orElseThrow(
                () ->
                    new VirgaException(
                        "service_password is not set: the agent needs the service credential to"
                            + " reach the image API (see the README's configuration table)"));
    return new ImageApiClient(
        URI.create(c.string("image_api_url", "http://127.0.0.1:8774/image")),
        URI.create(c.string("auth_url", "http://127.0.0.1:8774/identity/v3")),
        c.string("service_user", "virga-agent"),
        password,
        c.string("service_project", "service"));
  }

  private static String strip(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  @Override
  public ImageSource forInstance(Instance instance) {
    return this::fetch;
  }

  @Override
  public SnapshotUpload forSnapshot(Instance instance, String imageId) {
    return (file, diskFormat) -> upload(imageId, file, diskFormat);
  }

  /** GET …/images/{id}/file into {@code target}, checking the MD5 the API announces. */
  void fetch(ImageMeta image, Path target) {
    HttpResponse<InputStream> r =
        send(get(image.id() + "/file"), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = r.body()) {
      if (r.statusCode() != 200) {
        throw new VirgaException(
            "image API answered " + r.statusCode() + " for the data of image " + image.id());
      }
      MessageDigest md5 = md5();
      try (InputStream in = new DigestInputStream(body, md5);
          OutputStream out = Files.newOutputStream(target)) {
        in.transferTo(out);
      }
      Optional<String> expected = r.headers().firstValue("Content-MD5");
      String got = HexFormat.of().formatHex(md5.digest());
      if (expected.isPresent() && !expected.get().equalsIgnoreCase(got)) {
        throw new VirgaException(
            "image "
                + image.id()
                + " arrived corrupt: md5 "
                + got
                + ", API said "
                + expected.get());
      }
    } catch (IOException e) {
      throw new VirgaException("cannot fetch image " + image.id() + ": " + e.getMessage(), e);
    }
  }

  /** Sets the entry's disk_format to what the driver produced, then streams the file up. */
  void upload(String imageId, Path file, String diskFormat) {
    try {
      JsonNode meta = json(send(get(imageId), HttpResponse.BodyHandlers.ofString()), imageId);
      if (!diskFormat.equals(meta.path("disk_format").asText())) {
        ObjectNode op = JSON.createObjectNode();
        op.put("op", "replace").put("path", "/disk_format").put("value", diskFormat);
        HttpRequest patch =
            request(imageId)
                .header("Content-Type", "application/openstack-images-v2.1-json-patch")
                .method(
                    "PATCH",
                    HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(List.of(op))))
                .build();
        expect(send(patch, HttpResponse.BodyHandlers.ofString()), 200, "update image " + imageId);
      }
      HttpRequest put =
          request(imageId + "/file")
              .timeout(Duration.ofHours(6))
              .header("Content-Type", "application/octet-stream")
              .PUT(HttpRequest.BodyPublishers.ofFile(file))
              .build();
      expect(send(put, HttpResponse.BodyHandlers.ofString()), 204, "upload image " + imageId);
    } catch (IOException e) {
      throw new VirgaException("cannot upload snapshot " + imageId + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void abandonSnapshot(Instance instance, Optional<String> imageId) {
    try {
      if (imageId.isPresent()) {
        abandon(imageId.get());
        return;
      }
      for (String status : List.of("queued", "saving")) {
        String query =
            "?status="
                + status
                + "&owner="
                + URLEncoder.encode(instance.projectId(), StandardCharsets.UTF_8)
                + "&limit=1000";
        HttpRequest list =
            request("").uri(URI.create(strip(images.toString()) + query)).GET().build();
        JsonNode found = json(send(list, HttpResponse.BodyHandlers.ofString()), "image list");
        for (JsonNode img : found.path("images")) {
          if (instance.uuid().equals(img.path("instance_uuid").asText())
              && "snapshot".equals(img.path("image_type").asText())) {
            abandon(img.path("id").asText());
          }
        }
      }
    } catch (RuntimeException e) {
      LOG.error("instance {}: cannot clean up unfinished snapshots", instance.uuid(), e);
    }
  }

  private void abandon(String imageId) {
    HttpResponse<String> r = send(get(imageId), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 404 || json(r, imageId).path("status").asText().equals("active")) {
      return;
    }
    HttpResponse<String> d =
        send(request(imageId).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    if (d.statusCode() == 204 || d.statusCode() == 404) {
      LOG.info("deleted snapshot image {}: its snapshot did not finish", imageId);
    } else {
      LOG.warn("snapshot image {} could not be deleted: HTTP {}", imageId, d.statusCode());
    }
  }

  private HttpRequest get(String path) {
    return request(path).GET().build();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(images.resolve(path))
        .timeout(TIMEOUT)
        .header("X-Auth-Token", token());
  }

  /** Sends; a 401 (token revoked or expired early) renews the token and retries once. */
  private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> body) {
    try {
      HttpResponse<T> r = http.send(req, body);
      if (r.statusCode() != 401) {
        return r;
      }
      synchronized (this) {
        tokenExpires = Instant.EPOCH;
      }
      HttpRequest again =
          HttpRequest.newBuilder(req, (k, v) -> !k.equalsIgnoreCase("X-Auth-Token"))
              .header("X-Auth-Token", token())
              .build();
      return http.send(again, body);
    } catch (IOException e) {
      throw new VirgaException(
          "cannot reach the image API at " + images + " (" + e.getMessage() + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VirgaException("interrupted while talking to the image API", e);
    }
  }

  /** A project-scoped token for the service user, renewed a minute before it expires. */
  synchronized String token() {
    if (token != null && Instant.now().isBefore(tokenExpires.minusSeconds(60))) {
      return token;
    }
    ObjectNode body = JSON.createObjectNode();
    ObjectNode identity = body.putObject("auth").putObject("identity");
    identity.putArray("methods").add("password");
    ObjectNode u = identity.putObject("password").putObject("user");
    u.put("name", user).put("password", password).putObject("domain").put("id", "default");
    ObjectNode p = ((ObjectNode) body.get("auth")).putObject("scope").putObject("project");
    p.put("name", project).putObject("domain").put("id", "default");
    try {
      HttpRequest req =
          HttpRequest.newBuilder(auth)
              .timeout(TIMEOUT)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
              .build();
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 201) {
        throw new VirgaException(
            "the service credential ("
                + user
                + " in project "
                + project
                + ") was refused by "
                + auth
                + ": HTTP "
                + r.statusCode());
      }
      token = r.headers().firstValue("X-Subject-Token").orElseThrow();
      tokenExpires =
          Instant.parse(JSON.readTree(r.body()).path("token").path("expires_at").asText());
      return token;
    } catch (IOException e) {
      throw new VirgaException(
          "cannot reach the identity API at " + auth + " (" + e.getMessage() + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new VirgaException("interrupted while authenticating", e);
    }
  }

  private static JsonNode json(HttpResponse<String> r, String what) {
    expect(r, 200, what);
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new VirgaException("the image API sent unreadable JSON for " + what, e);
    }
  }

  private static void expect(HttpResponse<String> r, int status, String what) {
    if (r.statusCode() != status) {
      throw new VirgaException(
          "image API: " + what + " answered HTTP " + r.statusCode() + ": " + r.body());
    }
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
