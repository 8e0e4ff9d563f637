package io.virga.db;

import io.virga.core.ConflictException;
import io.virga.core.NotFoundException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** Key pairs, owned by users (not projects), unique by name per user. */
public final class KeyPairRepository {
  private final Jdbi jdbi;

  public KeyPairRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public KeyPairRecord create(
      String userId, String name, String type, String fingerprint, String publicKey) {
    return jdbi.inTransaction(
        h -> {
          if (find(h, userId, name).isPresent()) {
            throw new ConflictException("Key pair '" + name + "' already exists.");
          }
          long id = ComputeIds.next(h, "key_pairs");
          h.createUpdate(
                  "INSERT INTO key_pairs (id, user_id, name, key_type, fingerprint, public_key,"
                      + " created_at) VALUES (:id, :u, :n, :t, :f, :k, :c)")
              .bind("id", id)
              .bind("u", userId)
              .bind("n", name)
              .bind("t", type)
              .bind("f", fingerprint)
              .bind("k", publicKey)
              .bind("c", Times.now())
              .execute();
          return find(h, userId, name).orElseThrow();
        });
  }

  public List<KeyPairRecord> list(String userId) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM key_pairs WHERE user_id = :u ORDER BY name")
                .bind("u", userId)
                .map((rs, ctx) -> row(rs))
                .list());
  }

  public int count(String userId) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT COUNT(*) FROM key_pairs WHERE user_id = :u")
                .bind("u", userId)
                .mapTo(Integer.class)
                .one());
  }

  public KeyPairRecord get(String userId, String name) {
    return jdbi.withHandle(h -> find(h, userId, name))
        .orElseThrow(
            () -> new NotFoundException("Keypair " + name + " not found for user " + userId));
  }

  public void delete(String userId, String name) {
    int n =
        jdbi.withHandle(
            h ->
                h.createUpdate("DELETE FROM key_pairs WHERE user_id = :u AND name = :n")
                    .bind("u", userId)
                    .bind("n", name)
                    .execute());
    if (n == 0) {
      throw new NotFoundException("Keypair " + name + " not found for user " + userId);
    }
  }

  private static Optional<KeyPairRecord> find(
      org.jdbi.v3.core.Handle h, String userId, String name) {
    return h.createQuery("SELECT * FROM key_pairs WHERE user_id = :u AND name = :n")
        .bind("u", userId)
        .bind("n", name)
        .map((rs, ctx) -> row(rs))
        .findOne();
  }

  private static KeyPairRecord row(ResultSet rs) throws SQLException {
    return new KeyPairRecord(
        rs.getLong("id"),
        rs.getString("user_id"),
        rs.getString("name"),
        rs.getString("key_type"),
        rs.getString("fingerprint"),
        rs.getString("public_key"),
        Times.of(rs, "created_at"));
  }
}
