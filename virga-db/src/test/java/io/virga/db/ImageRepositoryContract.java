package io.virga.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The image repository's behaviour, run against SQLite (unit) and PostgreSQL (IT). */
abstract class ImageRepositoryContract extends DatabaseContract {

  static ImageRecord image(String id, String name, String visibility, String owner, long created) {
    return new ImageRecord(
        id,
        Optional.ofNullable(name),
        "queued",
        visibility,
        Optional.of(owner),
        Optional.of("raw"),
        Optional.of("bare"),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        0,
        0,
        false,
        false,
        created,
        created,
        Map.of("k", "v"),
        List.of("t"));
  }

  static ImageRepository.Query query(
      String project,
      boolean admin,
      Map<String, String> eq,
      List<Map.Entry<String, String>> sort,
      Optional<ImageRecord> marker,
      int limit) {
    return new ImageRepository.Query(
        project, admin, eq, List.of(), Optional.empty(), sort, marker, limit);
  }

  @Test
  void roundTripsPropertiesTagsAndStatusChanges() {
    ImageRepository repo = new ImageRepository(db());
    repo.insert(image("i1", "one", "private", "p1", 10));
    ImageRecord r = repo.find("i1").orElseThrow();
    assertThat(r.properties()).containsEntry("k", "v");
    assertThat(r.tags()).containsExactly("t");
    assertThat(r.size()).isEmpty();
    assertThat(repo.compareAndSetStatus("i1", "queued", "saving", 11)).isTrue();
    assertThat(repo.compareAndSetStatus("i1", "queued", "saving", 12)).isFalse();
    assertThat(repo.activate("i1", 100, 200, "md5", "sha512", "h", 13)).isTrue();
    assertThat(repo.activate("i1", 100, 200, "md5", "sha512", "h", 13)).isFalse();
    r = repo.find("i1").orElseThrow();
    assertThat(r.status()).isEqualTo("active");
    assertThat(r.size()).contains(100L);
    assertThat(r.virtualSize()).contains(200L);
    ImageRecord changed =
        new ImageRecord(
            r.id(),
            Optional.of("renamed"),
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
            1,
            2,
            true,
            false,
            r.createdAt(),
            20,
            Map.of("a", "b"),
            List.of("x", "y"));
    assertThat(repo.update(changed)).isTrue();
    r = repo.find("i1").orElseThrow();
    assertThat(r.name()).contains("renamed");
    assertThat(r.isProtected()).isTrue();
    assertThat(r.properties()).containsExactly(Map.entry("a", "b"));
    assertThat(r.tags()).containsExactly("x", "y");
    assertThat(repo.delete("i1")).isTrue();
    assertThat(repo.find("i1")).isEmpty();
    int orphans =
        db().withHandle(
                h ->
                    h.createQuery("SELECT COUNT(*) FROM image_properties")
                        .mapTo(Integer.class)
                        .one());
    assertThat(orphans).isZero();
  }

  @Test
  void listsOnlyWhatAProjectMaySee() {
    ImageRepository repo = new ImageRepository(db());
    repo.insert(image("a", "a", "private", "p1", 1));
    repo.insert(image("b", "b", "public", "p2", 2));
    repo.insert(image("c", "c", "private", "p2", 3));
    repo.insert(image("d", "d", "community", "p2", 4));
    List<Map.Entry<String, String>> byName = List.of(Map.entry("name", "asc"));
    assertThat(ids(repo.list(query("p1", false, Map.of(), byName, Optional.empty(), 10))))
        .containsExactly("a", "b");
    assertThat(
            ids(
                repo.list(
                    query(
                        "p1",
                        false,
                        Map.of("visibility", "community"),
                        byName,
                        Optional.empty(),
                        10))))
        .containsExactly("d");
    assertThat(
            ids(
                repo.list(
                    query("p1", false, Map.of("visibility", "all"), byName, Optional.empty(), 10))))
        .containsExactly("a", "b", "d");
    assertThat(
            ids(
                repo.list(
                    query(
                        "p1",
                        false,
                        Map.of("visibility", "private"),
                        byName,
                        Optional.empty(),
                        10))))
        .containsExactly("a");
    assertThat(ids(repo.list(query("p9", true, Map.of(), byName, Optional.empty(), 10))))
        .containsExactly("a", "b", "c");
    assertThat(
            ids(repo.list(query("p2", false, Map.of("name", "c"), byName, Optional.empty(), 10))))
        .containsExactly("c");
  }

  @Test
  void pagesWithMarkersInAnySortOrder() {
    ImageRepository repo = new ImageRepository(db());
    // equal names and timestamps force the id tie-breaker
    for (int i = 0; i < 7; i++) {
      repo.insert(image("id" + i, i < 4 ? "same" : "name" + i, "public", "p1", 100 + (i / 2)));
    }
    for (List<Map.Entry<String, String>> sort :
        List.of(
            List.of(Map.entry("created_at", "desc")),
            List.of(Map.entry("name", "asc"), Map.entry("created_at", "desc")),
            List.of(Map.entry("size", "asc")))) {
      List<String> all = ids(repo.list(query("p1", false, Map.of(), sort, Optional.empty(), 100)));
      assertThat(all).hasSize(7);
      List<String> paged = new ArrayList<>();
      Optional<ImageRecord> marker = Optional.empty();
      for (int page = 0; page < 10; page++) {
        List<ImageRecord> got = repo.list(query("p1", false, Map.of(), sort, marker, 3));
        got.forEach(r -> paged.add(r.id()));
        if (got.size() < 3) {
          break;
        }
        marker = Optional.of(got.get(got.size() - 1));
      }
      assertThat(paged).as("sort %s", sort).isEqualTo(all);
    }
  }

  private static List<String> ids(List<ImageRecord> rs) {
    return rs.stream().map(ImageRecord::id).toList();
  }
}
