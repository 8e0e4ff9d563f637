package io.virga.db;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Instance actions and their events. The API starts an action per request; the agent reports events
 * against it by request id, or against the instance's newest action when the request id is unknown
 * (an agent acting on its own, e.g. recovery).
 */
public final class InstanceActionRepository {
  private final Jdbi jdbi;

  public InstanceActionRepository(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  public void start(
      String instanceUuid, String requestId, String action, String projectId, String userId) {
    jdbi.useTransaction(
        h -> {
          long id = ComputeIds.next(h, "instance_actions");
          long now = Times.now();
          h.createUpdate(
                  "INSERT INTO instance_actions (id, request_id, instance_uuid, action, project_id,"
                      + " user_id, start_time, updated_at) VALUES (:id, :r, :u, :a, :p, :us, :now,"
                      + " :now)")
              .bind("id", id)
              .bind("r", requestId)
              .bind("u", instanceUuid)
              .bind("a", action)
              .bind("p", projectId)
              .bind("us", userId)
              .bind("now", now)
              .execute();
        });
  }

  public void eventStart(String instanceUuid, String requestId, String event, String host) {
    jdbi.useTransaction(
        h -> {
          long now = Times.now();
          Optional<Long> action = touchAction(h, instanceUuid, requestId, now, false);
          if (action.isEmpty()) {
            return;
          }
          h.createUpdate(
                  "INSERT INTO instance_action_events (id, action_id, event, host, start_time)"
                      + " VALUES (:id, :a, :e, :h, :now)")
              .bind("id", ComputeIds.next(h, "instance_action_events"))
              .bind("a", action.get())
              .bind("e", event)
              .bind("h", host)
              .bind("now", now)
              .execute();
        });
  }

  /** Finishes the event (starting it first if nobody did); an error marks the action failed. */
  public void eventFinish(
      String instanceUuid, String requestId, String event, Optional<String> error) {
    jdbi.useTransaction(
        h -> {
          long now = Times.now();
          Optional<Long> action = touchAction(h, instanceUuid, requestId, now, error.isPresent());
          if (action.isEmpty()) {
            return;
          }
          String result = error.isPresent() ? "Error" : "Success";
          int finished =
              h.createUpdate(
                      "UPDATE instance_action_events SET finish_time = :now, result = :r,"
                          + " traceback = :tb WHERE id = (SELECT id FROM instance_action_events"
                          + " WHERE action_id = :a AND event = :e AND finish_time IS NULL"
                          + " ORDER BY id DESC LIMIT 1)")
                  .bind("now", now)
                  .bind("r", result)
                  .bind("tb", error.orElse(null))
                  .bind("a", action.get())
                  .bind("e", event)
                  .execute();
          if (finished == 0) {
            h.createUpdate(
                    "INSERT INTO instance_action_events (id, action_id, event, start_time,"
                        + " finish_time, result, traceback) VALUES (:id, :a, :e, :now, :now, :r,"
                        + " :tb)")
                .bind("id", ComputeIds.next(h, "instance_action_events"))
                .bind("a", action.get())
                .bind("e", event)
                .bind("now", now)
                .bind("r", result)
                .bind("tb", error.orElse(null))
                .execute();
          }
        });
  }

  public List<InstanceActionRecord> list(String instanceUuid) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM instance_actions WHERE instance_uuid = :u"
                        + " ORDER BY start_time DESC, id DESC")
                .bind("u", instanceUuid)
                .map((rs, ctx) -> row(rs, List.of()))
                .list());
  }

  public Optional<InstanceActionRecord> get(String instanceUuid, String requestId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT * FROM instance_actions WHERE instance_uuid = :u AND request_id = :r"
                        + " ORDER BY id DESC")
                .bind("u", instanceUuid)
                .bind("r", requestId)
                .map((rs, ctx) -> row(rs, List.of()))
                .findFirst()
                .map(a -> withEvents(a, events(h, a.id()))));
  }

  private static InstanceActionRecord withEvents(
      InstanceActionRecord a, List<InstanceActionRecord.Event> events) {
    return new InstanceActionRecord(
        a.id(),
        a.requestId(),
        a.instanceUuid(),
        a.action(),
        a.projectId(),
        a.userId(),
        a.message(),
        a.startTime(),
        a.finishTime(),
        a.updatedAt(),
        events);
  }

  private static List<InstanceActionRecord.Event> events(Handle h, long actionId) {
    return h.createQuery(
            "SELECT * FROM instance_action_events WHERE action_id = :a ORDER BY start_time, id")
        .bind("a", actionId)
        .map(
            (rs, ctx) ->
                new InstanceActionRecord.Event(
                    rs.getString("event"),
                    Times.string(rs, "host"),
                    Times.string(rs, "result"),
                    Times.string(rs, "traceback"),
                    Times.of(rs, "start_time"),
                    Times.optional(rs, "finish_time")))
        .list();
  }

  /**
   * Marks the event's action updated now (its {@code updated_at}, which Nova's {@code
   * changes-since} on actions reads) and failed on {@code error}, in the statement that finds it:
   * the action of {@code requestId}, else the instance's newest (an agent acting on its own, e.g.
   * recovery). Its id, empty when the instance has no action.
   */
  private static Optional<Long> touchAction(
      Handle h, String instanceUuid, String requestId, long now, boolean error) {
    String set =
        "UPDATE instance_actions SET updated_at = :now,"
            + " message = CASE WHEN :err THEN 'Error' ELSE message END WHERE id = ";
    Optional<Long> exact =
        h.createQuery(
                set
                    + "(SELECT id FROM instance_actions WHERE instance_uuid = :u AND request_id"
                    + " = :r ORDER BY id DESC LIMIT 1) RETURNING id")
            .bind("now", now)
            .bind("err", error)
            .bind("u", instanceUuid)
            .bind("r", requestId == null ? "" : requestId)
            .mapTo(Long.class)
            .findFirst();
    if (exact.isPresent()) {
      return exact;
    }
    return h.createQuery(
            set
                + "(SELECT id FROM instance_actions WHERE instance_uuid = :u ORDER BY id DESC"
                + " LIMIT 1) RETURNING id")
        .bind("now", now)
        .bind("err", error)
        .bind("u", instanceUuid)
        .mapTo(Long.class)
        .findFirst();
  }

  private static InstanceActionRecord row(ResultSet rs, List<InstanceActionRecord.Event> events)
      throws SQLException {
    return new InstanceActionRecord(
        rs.getLong("id"),
        rs.getString("request_id"),
        rs.getString("instance_uuid"),
        rs.getString("action"),
        rs.getString("project_id"),
        rs.getString("user_id"),
        Times.string(rs, "message"),
        Times.of(rs, "start_time"),
        Times.optional(rs, "finish_time"),
        Times.of(rs, "updated_at"),
        events);
  }
}
