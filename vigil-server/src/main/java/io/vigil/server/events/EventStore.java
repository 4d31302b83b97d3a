package io.vigil.server.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import io.vigil.server.management.ServerOwnership;
import io.vigil.server.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The event server's store: ingest, query and the retention purge. Every write goes through the
 * fence. Each stored event is run through the alarm definitions in its transaction ({@link
 * Alarms.Raiser}), so an event and the alarm it raises commit together. Ingesting is not audited:
 * events are the site's data, not changes to its configuration, and an audit entry per event would
 * double every write of the busiest path.
 */
public final class EventStore {

  private final Fence fence;
  private final java.util.function.LongConsumer stored;

  public EventStore(Fence fence) {
    this(fence, n -> {});
  }

  /**
   * @param stored told how many new events each post stored (duplicates not counted), after it
   *     committed: the site's event rate on {@code /metrics}
   */
  public EventStore(Fence fence, java.util.function.LongConsumer stored) {
    this.fence = fence;
    this.stored = stored;
  }

  /**
   * What a post stored.
   *
   * @param ids each event's id, in the order they were sent; a retried event has the id it was
   *     first stored with
   * @param duplicates how many of them had been stored before (same source and idempotency key)
   */
  public record Ingested(List<Long> ids, int duplicates) {}

  /** A page of events, newest first, and the cursor for the next page (null at the end). */
  public record Page(List<Event> items, String nextCursor) {}

  /**
   * Stores {@code drafts} in one fenced transaction: all of them, or none when one is refused.
   *
   * @throws ApiException 400 {@code unknown_source} for an id that names no registered server,
   *     hardware or camera, 403 {@code not_your_server} when a component posts about another's
   */
  Ingested ingest(Principal actor, List<EventInput.Draft> drafts) {
    Ingested done;
    try {
      done = fence.write(h -> store(h, actor, drafts));
    } catch (UnableToExecuteStatementException e) {
      if (!Sql.isUniqueViolation(e)) {
        throw e;
      }
      // Another request stored an event with the same key after this one looked: this time the
      // lookup finds it.
      done = fence.write(h -> store(h, actor, drafts));
    }
    stored.accept(done.ids().size() - (long) done.duplicates());
    return done;
  }

  private static Ingested store(Handle h, Principal actor, List<EventInput.Draft> drafts) {
    Map<String, Boolean> checked = new HashMap<>();
    Map<String, Long> seen = new HashMap<>();
    List<Long> ids = new ArrayList<>(drafts.size());
    int duplicates = 0;
    Alarms.Raiser alarms = new Alarms.Raiser(h);
    for (EventInput.Draft d : drafts) {
      String source = d.source().text();
      if (checked.putIfAbsent(source, Boolean.TRUE) == null) {
        checkSource(h, actor, d.source());
      }
      String key = d.idempotencyKey() == null ? null : source + "\n" + d.idempotencyKey();
      Long existing = key == null ? null : seen.get(key);
      if (existing == null && key != null) {
        existing =
            h.createQuery("SELECT id FROM events WHERE source = :source AND idempotency_key = :key")
                .bind("source", source)
                .bind("key", d.idempotencyKey())
                .mapTo(Long.class)
                .findOne()
                .orElse(null);
      }
      if (existing != null) {
        ids.add(existing);
        duplicates++;
        continue;
      }
      var insert =
          h.createUpdate(
                  "INSERT INTO events (source, idempotency_key, type, severity, event_time,"
                      + " received_at, message, data_json) VALUES (:source, :key, :type, :severity,"
                      + (d.time() == null ? " CURRENT_TIMESTAMP" : " :time")
                      + ", CURRENT_TIMESTAMP, :message, :data)")
              .bind("source", source)
              .bind("key", d.idempotencyKey())
              .bind("type", d.type())
              .bind("severity", d.severity().id())
              .bind("message", d.message())
              .bind("data", d.data());
      if (d.time() != null) {
        insert.bind("time", Timestamp.from(d.time()));
      }
      long id = insert.executeAndReturnGeneratedKeys("id").mapTo(Long.class).one();
      if (key != null) {
        seen.put(key, id);
      }
      alarms.stored(id, d.type(), source);
      ids.add(id);
    }
    return new Ingested(List.copyOf(ids), duplicates);
  }

  /**
   * Vigil's own events ({@code server.offline}, {@code server.online}, …): stored like posted ones,
   * in the transaction of the change they report, so that both commit or neither does, and logged.
   * They carry no idempotency key: each change raises its event once.
   */
  public static SiteEvents siteEvents() {
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EventStore.class);
    return (h, type, source, severity, message, data) -> {
      String json;
      try {
        json = Json.MAPPER.writeValueAsString(data == null ? Map.of() : data);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalArgumentException("event data cannot be written as JSON", e);
      }
      long id =
          h.createUpdate(
                  "INSERT INTO events (source, idempotency_key, type, severity, event_time,"
                      + " received_at, message, data_json) VALUES (:source, NULL, :type,"
                      + " :severity, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :message, :data)")
              .bind("source", source)
              .bind("type", type)
              .bind("severity", severity)
              .bind("message", message)
              .bind("data", json)
              .executeAndReturnGeneratedKeys("id")
              .mapTo(Long.class)
              .one();
      new Alarms.Raiser(h).stored(id, type, source);
      log.info("{} ({}): {}", type, severity, message);
    };
  }

  /** The client that registered the server a source is or is on, if any. */
  private record Registrant(String clientId) {}

  private static void checkSource(Handle h, Principal actor, EventSource source) {
    if (source.objectId() == null) {
      ServerOwnership.checkEventSource(actor, source.text(), null);
      return;
    }
    Optional<Registrant> registrant =
        h.createQuery(
                "SELECT s.registered_by FROM servers s WHERE s.id = :id"
                    + " UNION ALL SELECT s.registered_by FROM hardware hw"
                    + " JOIN servers s ON s.id = hw.recording_server_id WHERE hw.id = :id"
                    + " UNION ALL SELECT s.registered_by FROM cameras c"
                    + " JOIN hardware hw ON hw.id = c.hardware_id"
                    + " JOIN servers s ON s.id = hw.recording_server_id WHERE c.id = :id")
            .bind("id", source.objectId())
            .map((rs, ctx) -> new Registrant(rs.getString(1)))
            .findFirst();
    if (registrant.isEmpty()) {
      throw ApiException.badRequest(
          "unknown_source",
          "Source \""
              + Text.excerpt(source.text())
              + "\" is no registered server, hardware device or camera. Register it first, or use"
              + " external:<name> for a source outside Vigil.");
    }
    ServerOwnership.checkEventSource(actor, source.text(), registrant.get().clientId());
  }

  /**
   * Events newest first (by the order they were stored).
   *
   * @param type only events of this type, or null
   * @param source only events about this source, or null
   * @param since only events whose time is at or after this, or null
   * @param until only events whose time is before this, or null
   * @param cursor the previous page's {@code nextCursor}, or null for the first page
   * @param limit page size, 1-500
   */
  public Page query(
      String type, String source, Instant since, Instant until, String cursor, int limit) {
    String checkedType = type == null ? null : EventInput.type("type", type);
    String checkedSource = source == null ? null : EventSource.parse("source", source).text();
    Long before = EventCursor.decode(cursor);
    return fence.read(
        h -> {
          StringBuilder sql = new StringBuilder("SELECT * FROM events WHERE 1 = 1");
          Map<String, Object> binds = new HashMap<>();
          filter(sql, binds, "type = :type", "type", checkedType);
          filter(sql, binds, "source = :source", "source", checkedSource);
          filter(sql, binds, "event_time >= :since", "since", timestamp(since));
          filter(sql, binds, "event_time < :until", "until", timestamp(until));
          filter(sql, binds, "id < :before", "before", before);
          // With one source (or type) the same order as "id DESC", spelled so that the index on
          // (source, id) (or (type, id)) read backwards gives it: ordered by id alone, H2 reads
          // every event of that source and sorts them, linear in the source's events.
          String order =
              checkedSource != null ? "source DESC, " : checkedType != null ? "type DESC, " : "";
          sql.append(" ORDER BY ").append(order).append("id DESC LIMIT :limit");
          var q = h.createQuery(sql.toString()).bind("limit", limit + 1);
          binds.forEach(q::bind);
          List<Event> rows = q.map(EventStore::row).list();
          if (rows.size() > limit) {
            List<Event> page = List.copyOf(rows.subList(0, limit));
            return new Page(page, EventCursor.before(page.get(limit - 1).id()));
          }
          return new Page(rows, null);
        });
  }

  private static void filter(
      StringBuilder sql, Map<String, Object> binds, String condition, String name, Object value) {
    if (value != null) {
      sql.append(" AND ").append(condition);
      binds.put(name, value);
    }
  }

  private static Timestamp timestamp(Instant t) {
    return t == null ? null : Timestamp.from(t);
  }

  /**
   * Deletes, in one transaction, up to {@code retention.batch()} of the oldest events received
   * before the retention's cutoff by the database's clock.
   *
   * @return how many it deleted
   */
  static int purgeBatch(Handle h, EventRetention retention) {
    Instant now =
        h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
    Optional<Instant> cutoff = retention.cutoff(now);
    if (cutoff.isEmpty()) {
      return 0;
    }
    return h.createUpdate(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < :cutoff"
                + " ORDER BY id LIMIT :batch)")
        .bind("cutoff", Timestamp.from(cutoff.get()))
        .bind("batch", retention.batch())
        .execute();
  }

  /**
   * One round of the retention purge: batches of one fenced transaction each until the old events
   * are gone or the round's share is done.
   *
   * @return how many events it deleted
   */
  public int purge(EventRetention retention) {
    int total = 0;
    int done = 0;
    int deleted;
    do {
      deleted = fence.write(h -> purgeBatch(h, retention));
      total += deleted;
      done++;
    } while (retention.another(done, deleted));
    return total;
  }

  static Event row(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Event(
        rs.getLong("id"),
        rs.getString("type"),
        rs.getString("source"),
        rs.getString("severity"),
        Sql.instant(rs.getTimestamp("event_time")),
        Sql.instant(rs.getTimestamp("received_at")),
        rs.getString("message"),
        data(rs.getString("data_json")),
        rs.getString("idempotency_key"));
  }

  private static JsonNode data(String json) {
    if (json == null) {
      return null;
    }
    try {
      return Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("An event's stored data is not JSON", e);
    }
  }
}
