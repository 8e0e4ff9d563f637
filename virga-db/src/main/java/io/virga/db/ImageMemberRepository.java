package io.virga.db;

import java.util.List;
import java.util.Optional;

/** Glance image members: an image shared with another project, pending until it accepts. */
public final class ImageMemberRepository {
  private final Database db;

  public ImageMemberRepository(Database db) {
    this.db = db;
  }

  /** One membership; times are epoch milliseconds. */
  public record Member(
      String imageId, String memberId, String status, long createdAt, long updatedAt) {}

  /** Adds a pending membership; false when the project is already a member. */
  public boolean add(String imageId, String memberId, long now) {
    return db.inTransaction(
        h -> {
          boolean exists =
              h.createQuery(
                          "SELECT COUNT(*) FROM image_members WHERE image_id = :i AND member_id = :m")
                      .bind("i", imageId)
                      .bind("m", memberId)
                      .mapTo(Integer.class)
                      .one()
                  > 0;
          if (!exists) {
            h.createUpdate(
                    "INSERT INTO image_members (image_id, member_id, status, created_at,"
                        + " updated_at) VALUES (:i, :m, 'pending', :now, :now)")
                .bind("i", imageId)
                .bind("m", memberId)
                .bind("now", now)
                .execute();
          }
          return !exists;
        });
  }

  public Optional<Member> find(String imageId, String memberId) {
    return db.withHandle(
        h ->
            h.createQuery("SELECT * FROM image_members WHERE image_id = :i AND member_id = :m")
                .bind("i", imageId)
                .bind("m", memberId)
                .map((rs, ctx) -> member(rs))
                .findOne());
  }

  public List<Member> list(String imageId) {
    return db.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM image_members WHERE image_id = :i ORDER BY created_at, member_id")
                .bind("i", imageId)
                .map((rs, ctx) -> member(rs))
                .list());
  }

  public boolean setStatus(String imageId, String memberId, String status, long now) {
    return db.inTransaction(
        h ->
            h.createUpdate(
                        "UPDATE image_members SET status = :s, updated_at = :now"
                            + " WHERE image_id = :i AND member_id = :m")
                    .bind("s", status)
                    .bind("now", now)
                    .bind("i", imageId)
                    .bind("m", memberId)
                    .execute()
                > 0);
  }

  public boolean delete(String imageId, String memberId) {
    return db.inTransaction(
        h ->
            h.createUpdate("DELETE FROM image_members WHERE image_id = :i AND member_id = :m")
                    .bind("i", imageId)
                    .bind("m", memberId)
                    .execute()
                > 0);
  }

  private static Member member(java.sql.ResultSet rs) throws java.sql.SQLException {
    return new Member(
        rs.getString("image_id"),
        rs.getString("member_id"),
        rs.getString("status"),
        rs.getLong("created_at"),
        rs.getLong("updated_at"));
  }
}
