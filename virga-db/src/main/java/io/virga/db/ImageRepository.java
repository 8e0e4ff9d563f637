package io.virga.db;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;

/**
 * Image rows with their properties and tags. Status changes are compare-and-swap ({@link
 * #compareAndSetStatus}) so concurrent uploads and deletes cannot both win.
 */
public final class ImageRepository {
  /** Sort keys clients may use, mapped to null-safe SQL expressions (never user text). */
  private static final Map<String, String> SORT_KEYS =
      Map.ofEntries(
          Map.entry("created_at", "created_at"),
          Map.entry("updated_at", "updated_at"),
          Map.entry("name", "COALESCE(name, '')"),
          Map.entry("id", "id"),
          Map.entry("status", "status"),
          Map.entry("size", "COALESCE(size, -1)"),
          Map.entry("virtual_size", "COALESCE(virtual_size, -1)"),
          Map.entry("disk_format", "COALESCE(disk_format, '')"),
          Map.entry("container_format", "COALESCE(container_format, '')"),
          Map.entry("min_disk", "min_disk"),
          Map.entry("min_ram", "min_ram"),
          Map.entry("visibility", "visibility"),
          Map.entry("owner", "COALESCE(owner, '')"));

  /** Columns a list may filter on by equality. */
  private static final List<String> FILTER_COLUMNS =
      List.of("name", "status", "visibility", "owner", "disk_format", "container_format", "id");

  private final Database db;

  public ImageRepository(Database db) {
    this.db = db;
  }

  public static boolean isSortKey(String key) {
    return SORT_KEYS.containsKey(key);
  }

  public static boolean isFilterColumn(String key) {
    return FILTER_COLUMNS.contains(key);
  }

  /**
   * A list query. {@code projectId}/{@code admin}: who asks (non-admins see public and community
   * images and their own project's); {@code equals}: column → value filters from {@link
   * #isFilterColumn}; {@code visibility} "all" lists community images too; {@code sort}: keys with
   * "asc"/"desc"; {@code marker}: the last image of the previous page.
   */
  public record Query(
      String projectId,
      boolean admin,
      Map<String, String> equals,
      List<String> tags,
      Optional<Boolean> osHidden,
      List<Map.Entry<String, String>> sort,
      Optional<ImageRecord> marker,
      int limit) {}

  public void insert(ImageRecord r) {
    db.useTransaction(
        h -> {
          h.createUpdate(
                  "INSERT INTO images (id, name, status, visibility, owner, disk_format,"
                      + " container_format, size, virtual_size, checksum, os_hash_algo,"
                      + " os_hash_value, min_disk, min_ram, protected, os_hidden, created_at,"
                      + " updated_at) VALUES (:id, :name, :status, :visibility, :owner,"
                      + " :diskFormat, :containerFormat, :size, :virtualSize, :checksum,"
                      + " :osHashAlgo, :osHashValue, :minDisk, :minRam, :isProtected, :osHidden,"
                      + " :createdAt, :updatedAt)")
              .bindMap(columns(r))
              .execute();
          writeChildren(h, r);
        });
  }

  /** Replaces the row's mutable fields, properties and tags; false if the row is gone. */
  public boolean update(ImageRecord r) {
    return db.inTransaction(
        h -> {
          int n =
              h.createUpdate(
                      "UPDATE images SET name = :name, status = :status, visibility = :visibility,"
                          + " owner = :owner, disk_format = :diskFormat, container_format ="
                          + " :containerFormat, size = :size, virtual_size = :virtualSize,"
                          + " checksum = :checksum, os_hash_algo = :osHashAlgo, os_hash_value ="
                          + " :osHashValue, min_disk = :minDisk, min_ram = :minRam, protected ="
                          + " :isProtected, os_hidden = :osHidden, updated_at = :updatedAt"
                          + " WHERE id = :id")
                  .bindMap(columns(r))
                  .execute();
          if (n == 0) {
            return false;
          }
          h.createUpdate("DELETE FROM image_properties WHERE image_id = :id")
              .bind("id", r.id())
              .execute();
          h.createUpdate("DELETE FROM image_tags WHERE image_id = :id")
              .bind("id", r.id())
              .execute();
          writeChildren(h, r);
          return true;
        });
  }

  private static void writeChildren(Handle h, ImageRecord r) {
    for (Map.Entry<String, String> p : r.properties().entrySet()) {
      h.createUpdate("INSERT INTO image_properties (image_id, name, value) VALUES (:i, :n, :v)")
          .bind("i", r.id())
          .bind("n", p.getKey())
          .bind("v", p.getValue())
          .execute();
    }
    for (String tag : new java.util.LinkedHashSet<>(r.tags())) {
      h.createUpdate("INSERT INTO image_tags (image_id, value) VALUES (:i, :v)")
          .bind("i", r.id())
          .bind("v", tag)
          .execute();
    }
  }

  private static Map<String, Object> columns(ImageRecord r) {
    Map<String, Object> m = new HashMap<>();
    m.put("id", r.id());
    m.put("name", r.name().orElse(null));
    m.put("status", r.status());
    m.put("visibility", r.visibility());
    m.put("owner", r.owner().orElse(null));
    m.put("diskFormat", r.diskFormat().orElse(null));
    m.put("containerFormat", r.containerFormat().orElse(null));
    m.put("size", r.size().orElse(null));
    m.put("virtualSize", r.virtualSize().orElse(null));
    m.put("checksum", r.checksum().orElse(null));
    m.put("osHashAlgo", r.osHashAlgo().orElse(null));
    m.put("osHashValue", r.osHashValue().orElse(null));
    m.put("minDisk", r.minDisk());
    m.put("minRam", r.minRam());
    m.put("isProtected", r.isProtected());
    m.put("osHidden", r.osHidden());
    m.put("createdAt", r.createdAt());
    m.put("updatedAt", r.updatedAt());
    return m;
  }

  /**
   * Moves status {@code from} → {@code to}; false when the image is not (any more) in {@code from}.
   */
  public boolean compareAndSetStatus(String id, String from, String to, long now) {
    return db.inTransaction(
        h ->
            h.createUpdate(
                        "UPDATE images SET status = :to, updated_at = :now WHERE id = :id AND status"
                            + " = :from")
                    .bind("to", to)
                    .bind("now", now)
                    .bind("id", id)
                    .bind("from", from)
                    .execute()
                == 1);
  }

  /** Moves every image in status {@code from} to {@code to}; returns how many moved. */
  public int moveAll(String from, String to, long now) {
    return db.inTransaction(
        h ->
            h.createUpdate("UPDATE images SET status = :to, updated_at = :now WHERE status = :from")
                .bind("to", to)
                .bind("now", now)
                .bind("from", from)
                .execute());
  }

  /** saving → active with the data's sizes and hashes; false when the image left saving. */
  public boolean activate(
      String id, long size, long virtualSize, String md5, String algo, String hash, long now) {
    return db.inTransaction(
        h ->
            h.createUpdate(
                        "UPDATE images SET status = 'active', size = :size, virtual_size = :vs,"
                            + " checksum = :md5, os_hash_algo = :algo, os_hash_value = :hash,"
                            + " updated_at = :now WHERE id = :id AND status = 'saving'")
                    .bind("size", size)
                    .bind("vs", virtualSize)
                    .bind("md5", md5)
                    .bind("algo", algo)
                    .bind("hash", hash)
                    .bind("now", now)
                    .bind("id", id)
                    .execute()
                == 1);
  }

  public boolean delete(String id) {
    return db.inTransaction(
        h -> h.createUpdate("DELETE FROM images WHERE id = :id").bind("id", id).execute() == 1);
  }

  public Optional<ImageRecord> find(String id) {
    return db.withHandle(
        h -> {
          Optional<ImageRecord> row =
              h.createQuery("SELECT * FROM images WHERE id = :id")
                  .bind("id", id)
                  .map((rs, ctx) -> row(rs))
                  .findOne();
          return row.map(r -> withChildren(h, List.of(r)).get(0));
        });
  }

  private static final String ACCEPTED_MEMBER =
      "(visibility = 'shared' AND EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id"
          + " AND m.member_id = :caller AND m.status = 'accepted'))";

  public List<ImageRecord> list(Query q) {
    StringBuilder sql = new StringBuilder("SELECT * FROM images WHERE 1 = 1");
    Map<String, Object> binds = new HashMap<>();
    String vis = q.equals().get("visibility");
    if (!q.admin() || vis == null) {
      binds.put("caller", q.projectId());
    }
    if (!q.admin()) {
      // shared images appear in a member's list once the member accepted them (Glance's default)
      sql.append(
          vis == null
              ? " AND (visibility = 'public' OR owner = :caller OR " + ACCEPTED_MEMBER + ")"
              : " AND (visibility IN ('public', 'community') OR owner = :caller OR "
                  + ACCEPTED_MEMBER
                  + ")");
    } else if (vis == null) {
      // admins see everything but other projects' community images unless they ask for them
      sql.append(" AND (visibility <> 'community' OR owner = :caller)");
    }
    int i = 0;
    for (Map.Entry<String, String> f : q.equals().entrySet()) {
      if (!FILTER_COLUMNS.contains(f.getKey())) {
        throw new IllegalArgumentException("not a filter column: " + f.getKey());
      }
      if (f.getKey().equals("visibility") && f.getValue().equals("all")) {
        continue;
      }
      sql.append(" AND ").append(f.getKey()).append(" = :f").append(i);
      binds.put("f" + i++, f.getValue());
    }
    for (String tag : q.tags()) {
      sql.append(" AND EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = id AND t.value = :f")
          .append(i)
          .append(")");
      binds.put("f" + i++, tag);
    }
    sql.append(" AND os_hidden = :hidden");
    binds.put("hidden", q.osHidden().orElse(false));
    List<Map.Entry<String, String>> sort = new ArrayList<>(q.sort());
    if (sort.stream().noneMatch(e -> e.getKey().equals("id"))) {
      sort.add(Map.entry("id", sort.isEmpty() ? "desc" : sort.get(sort.size() - 1).getValue()));
    }
    if (q.marker().isPresent()) {
      sql.append(" AND (").append(markerCondition(sort, q.marker().get(), binds)).append(")");
    }
    sql.append(" ORDER BY ");
    List<String> order = new ArrayList<>();
    for (Map.Entry<String, String> s : sort) {
      order.add(expr(s.getKey()) + (isDesc(s) ? " DESC" : " ASC"));
    }
    sql.append(String.join(", ", order)).append(" LIMIT :limit");
    binds.put("limit", q.limit());
    return db.withHandle(
        h -> {
          org.jdbi.v3.core.statement.Query query = h.createQuery(sql.toString()).bindMap(binds);
          return withChildren(h, query.map((rs, ctx) -> row(rs)).list());
        });
  }

  private static boolean isDesc(Map.Entry<String, String> s) {
    return s.getValue().toLowerCase(Locale.ROOT).equals("desc");
  }

  private static String expr(String key) {
    String e = SORT_KEYS.get(key);
    if (e == null) {
      throw new IllegalArgumentException("not a sort key: " + key);
    }
    return e;
  }

  /** Rows strictly after the marker in the sort order: (k1 > m1) OR (k1 = m1 AND k2 > m2) … */
  private static String markerCondition(
      List<Map.Entry<String, String>> sort, ImageRecord marker, Map<String, Object> binds) {
    Map<String, Object> values = markerValues(marker);
    List<String> ors = new ArrayList<>();
    for (int k = 0; k < sort.size(); k++) {
      List<String> ands = new ArrayList<>();
      for (int j = 0; j < k; j++) {
        String key = sort.get(j).getKey();
        ands.add(expr(key) + " = :m" + j);
      }
      String key = sort.get(k).getKey();
      ands.add(expr(key) + (isDesc(sort.get(k)) ? " < " : " > ") + ":m" + k);
      ors.add("(" + String.join(" AND ", ands) + ")");
    }
    for (int k = 0; k < sort.size(); k++) {
      binds.put("m" + k, values.get(sort.get(k).getKey()));
    }
    return String.join(" OR ", ors);
  }

  private static Map<String, Object> markerValues(ImageRecord r) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("created_at", r.createdAt());
    v.put("updated_at", r.updatedAt());
    v.put("name", r.name().orElse(""));
    v.put("id", r.id());
    v.put("status", r.status());
    v.put("size", r.size().orElse(-1L));
    v.put("virtual_size", r.virtualSize().orElse(-1L));
    v.put("disk_format", r.diskFormat().orElse(""));
    v.put("container_format", r.containerFormat().orElse(""));
    v.put("min_disk", r.minDisk());
    v.put("min_ram", r.minRam());
    v.put("visibility", r.visibility());
    v.put("owner", r.owner().orElse(""));
    return v;
  }

  private static List<ImageRecord> withChildren(Handle h, List<ImageRecord> rows) {
    List<ImageRecord> out = new ArrayList<>(rows.size());
    for (ImageRecord r : rows) {
      Map<String, String> props = new TreeMap<>();
      h.createQuery("SELECT name, value FROM image_properties WHERE image_id = :id")
          .bind("id", r.id())
          .map((rs, ctx) -> Map.entry(rs.getString("name"), rs.getString("value")))
          .forEach(e -> props.put(e.getKey(), e.getValue()));
      List<String> tags =
          h.createQuery("SELECT value FROM image_tags WHERE image_id = :id ORDER BY value")
              .bind("id", r.id())
              .mapTo(String.class)
              .list();
      out.add(
          new ImageRecord(
              r.id(),
              r.name(),
              r.status(),
              r.visibility(),
              r.owner(),
              r.diskFormat(),
              r.containerFormat(),
              r.size(),
              r.virtualSize(),
              r.checksum(),
              r.osHashAlgo(),
              r.osHashValue(),
              r.minDisk(),
              r.minRam(),
              r.isProtected(),
              r.osHidden(),
              r.createdAt(),
              r.updatedAt(),
              props,
              tags));
    }
    return out;
  }

  private static ImageRecord row(ResultSet rs) throws SQLException {
    return new ImageRecord(
        rs.getString("id"),
        Optional.ofNullable(rs.getString("name")),
        rs.getString("status"),
        rs.getString("visibility"),
        Optional.ofNullable(rs.getString("owner")),
        Optional.ofNullable(rs.getString("disk_format")),
        Optional.ofNullable(rs.getString("container_format")),
        optLong(rs, "size"),
        optLong(rs, "virtual_size"),
        Optional.ofNullable(rs.getString("checksum")),
        Optional.ofNullable(rs.getString("os_hash_algo")),
        Optional.ofNullable(rs.getString("os_hash_value")),
        rs.getInt("min_disk"),
        rs.getInt("min_ram"),
        rs.getBoolean("protected"),
        rs.getBoolean("os_hidden"),
        rs.getLong("created_at"),
        rs.getLong("updated_at"),
        Map.of(),
        List.of());
  }

  private static Optional<Long> optLong(ResultSet rs, String col) throws SQLException {
    long v = rs.getLong(col);
    return rs.wasNull() ? Optional.empty() : Optional.of(v);
  }
}
