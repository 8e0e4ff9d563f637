package io.virga.api;

import static io.virga.api.ComputeRoutes.ROOT;
import static io.virga.api.ComputeRoutes.authed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.router.JavalinDefaultRouting;
import io.virga.core.InvalidInputException;
import io.virga.core.QuotaExceededException;
import io.virga.db.KeyPairRecord;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** /os-keypairs: per-user SSH key pairs; a pair is generated when no public key is given. */
final class KeyPairRoutes {
  private static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9 _-]{1,255}$");
  private static final Set<String> KEY_TYPES =
      Set.of(
          "ssh-rsa",
          "ssh-ed25519",
          "ssh-dss",
          "ecdsa-sha2-nistp256",
          "ecdsa-sha2-nistp384",
          "ecdsa-sha2-nistp521");
  private final ComputeDeps deps;

  KeyPairRoutes(ComputeDeps deps) {
    this.deps = deps;
  }

  void register(JavalinDefaultRouting r) {
    r.get(ROOT + "/os-keypairs", authed(this::list));
    r.post(ROOT + "/os-keypairs", authed(this::create));
    r.get(ROOT + "/os-keypairs/{name}", authed(this::show));
    r.delete(ROOT + "/os-keypairs/{name}", authed(this::delete));
  }

  /** The user whose key pairs are meant: the caller, or {@code user_id} for admins at 2.10+. */
  private String user(ComputeRoutes.Call c, Optional<String> asked) {
    if (asked.isPresent() && c.version().atLeast(2, 10)) {
      if (!asked.get().equals(c.auth().userId())) {
        Policy.requireAdmin(c.auth(), "os_compute_api:os-keypairs with another user_id");
      }
      return asked.get();
    }
    return c.auth().userId();
  }

  private void list(ComputeRoutes.Call c) {
    String user = user(c, Optional.ofNullable(c.ctx().queryParam("user_id")));
    List<KeyPairRecord> all = deps.keyPairs().list(user);
    if (c.version().atLeast(2, 35)) {
      all = ComputePaging.page(c.ctx(), all, k -> m -> k.name().equals(m));
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (KeyPairRecord k : all) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", k.name());
      m.put("public_key", k.publicKey());
      m.put("fingerprint", k.fingerprint());
      if (c.version().atLeast(2, 2)) {
        m.put("type", k.type());
      }
      out.add(Map.of("keypair", m));
    }
    c.ctx().json(Map.of("keypairs", out));
  }

  private void show(ComputeRoutes.Call c) {
    String user = user(c, Optional.ofNullable(c.ctx().queryParam("user_id")));
    KeyPairRecord k = deps.keyPairs().get(user, c.path("name"));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", k.name());
    m.put("public_key", k.publicKey());
    m.put("fingerprint", k.fingerprint());
    m.put("user_id", k.userId());
    m.put("created_at", ComputeTime.micros(k.createdAt()));
    m.put("deleted", false);
    m.put("deleted_at", null);
    m.put("updated_at", null);
    m.put("id", k.id());
    if (c.version().atLeast(2, 2)) {
      m.put("type", k.type());
    }
    c.ctx().json(Map.of("keypair", m));
  }

  private void delete(ComputeRoutes.Call c) {
    String user = user(c, Optional.ofNullable(c.ctx().queryParam("user_id")));
    deps.keyPairs().delete(user, c.path("name"));
    c.ctx().status(c.version().atLeast(2, 2) ? 204 : 202);
  }

  private void create(ComputeRoutes.Call c) {
    ObjectNode k = ApiJson.requireObject(ApiJson.object(c.ctx()), "keypair");
    for (var it = k.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      boolean ok =
          f.equals("name")
              || f.equals("public_key")
              || f.equals("type") && c.version().atLeast(2, 2)
              || f.equals("user_id") && c.version().atLeast(2, 10);
      if (!ok) {
        throw new InvalidInputException(
            "Invalid input for field/attribute keypair. Additional properties are not allowed ('"
                + f
                + "' was unexpected)");
      }
    }
    String name = ApiJson.requireString(k, "name");
    if (!NAME.matcher(name).matches()) {
      throw new InvalidInputException(
          "Keypair data is invalid: the name must be 1 to 255 letters, digits, spaces, '_' or '-'");
    }
    String type = ApiJson.optString(k, "type").orElse("ssh");
    if (!type.equals("ssh")) {
      throw new InvalidInputException(
          "Keypair data is invalid: only ssh key pairs are supported, not " + type);
    }
    String user = user(c, ApiJson.optString(k, "user_id"));
    long limit = deps.quotas().limits(c.auth().project()).getOrDefault("key_pairs", 100L);
    if (limit >= 0 && deps.keyPairs().count(user) >= limit) {
      throw new QuotaExceededException("Quota exceeded, too many key pairs.");
    }
    Optional<String> publicKey = ApiJson.optString(k, "public_key");
    Optional<String> privateKey = Optional.empty();
    String pub;
    if (publicKey.isPresent()) {
      pub = publicKey.get().strip();
    } else {
      KeyPair pair = generate();
      pub = openSsh((RSAPublicKey) pair.getPublic()) + " Generated-by-Virga";
      privateKey = Optional.of(pem(pair.getPrivate().getEncoded()));
    }
    String fingerprint = fingerprint(pub);
    KeyPairRecord rec = deps.keyPairs().create(user, name, type, fingerprint, pub);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", rec.name());
    m.put("public_key", rec.publicKey());
    m.put("fingerprint", rec.fingerprint());
    m.put("user_id", rec.userId());
    privateKey.ifPresent(p -> m.put("private_key", p));
    if (c.version().atLeast(2, 2)) {
      m.put("type", rec.type());
    }
    c.ctx().status(c.version().atLeast(2, 2) ? 201 : 200);
    c.ctx().json(Map.of("keypair", m));
  }

  /** Nova's (legacy MD5) fingerprint of an OpenSSH public key; 400 if it is not one. */
  static String fingerprint(String publicKey) {
    String[] parts = publicKey.strip().split("\\s+");
    if (parts.length < 2 || !KEY_TYPES.contains(parts[0])) {
      throw new InvalidInputException(
          "Keypair data is invalid: failed to generate fingerprint (not an OpenSSH public key)");
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new InvalidInputException("Keypair data is invalid: the key is not valid base64");
    }
    ByteBuffer b = ByteBuffer.wrap(blob);
    try {
      int len = b.getInt();
      if (len < 0 || len > b.remaining()) {
        throw new IllegalArgumentException();
      }
      byte[] t = new byte[len];
      b.get(t);
      if (!new String(t, StandardCharsets.US_ASCII).equals(parts[0])) {
        throw new IllegalArgumentException();
      }
    } catch (RuntimeException e) {
      throw new InvalidInputException(
          "Keypair data is invalid: the key blob does not match its type " + parts[0]);
    }
    try {
      byte[] md5 = MessageDigest.getInstance("MD5").digest(blob);
      return HexFormat.ofDelimiter(":").formatHex(md5);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String openSsh(RSAPublicKey key) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      byte[] type = "ssh-rsa".getBytes(StandardCharsets.US_ASCII);
      out.writeInt(type.length);
      out.write(type);
      writeMpint(out, key.getPublicExponent());
      writeMpint(out, key.getModulus());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return "ssh-rsa " + Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  private static void writeMpint(DataOutputStream out, BigInteger v) throws IOException {
    byte[] b = v.toByteArray();
    out.writeInt(b.length);
    out.write(b);
  }

  private static String pem(byte[] pkcs8) {
    return "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pkcs8)
        + "\n-----END PRIVATE KEY-----\n";
  }
}
