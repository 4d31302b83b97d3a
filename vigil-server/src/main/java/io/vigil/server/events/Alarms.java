package io.vigil.server.events;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.security.Principal;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Alarms: raised by stored events ({@link Raiser}, in the event's transaction), listed, read with
 * their activity log and comments, and handled by operators (state, owner, comments). Every
 * operator change goes through the fence, bumps the revision, is appended to the activity log and
 * audited, in one transaction. Raising and counting are not audited: like events, they are data.
 */
public final class Alarms {

  static final String OBJECT_TYPE = "alarm";

  /** Who the activity log names for changes Vigil makes itself (raising, closing on an event). */
  static final String SYSTEM_ACTOR = "vigil";

  static final int MAX_COMMENT = 4000;

  private final Fence fence;

  public Alarms(Fence fence) {
    this.fence = fence;
  }

  /** A page of alarms, highest priority first and newest first within a priority. */
  public record Page(List<Alarm> items, String nextCursor) {}

  /** One entry of an alarm's activity log. */
  public record Activity(Instant at, String actor, String action, String detail) {}

  /** A comment on an alarm. */
  public record Comment(Instant at, String author, String text) {}

  /** An alarm with its activity log (oldest first) and its comments. */
  public record Detail(
      @JsonUnwrapped Alarm alarm, List<Activity> activity, List<Comment> comments) {}

  /** A change by an operator: null leaves a field as it is; an empty owner unassigns. */
  public record Change(String state, String owner) {}

  /** The body of a comment. */
  public record NewComment(String text) {}

  /** The filters of the list; each null matches everything. */
  public record Filter(
      String state,
      Integer priority,
      String category,
      String source,
      String owner,
      Instant since,
      Instant until) {}

  // ---- raising

  /**
   * Applies the alarm rules to the events stored in one transaction: create one per transaction,
   * and call {@link #stored} for each event after inserting it. The enabled definitions and the
   * database's time are read once, at the first event, so a batch costs one extra query when no
   * definition concerns it.
   */
  static final class Raiser {
    private final Handle h;
    private List<AlarmDefinition> definitions;
    private List<AlarmRules.Definition> rules;
    private List<AlarmRules.Definition> activeRules;
    private Instant now;

    Raiser(Handle h) {
      this.h = h;
    }

    void stored(long eventId, String type, String source) {
      if (definitions == null) {
        definitions = AlarmDefinitions.enabledDefinitions(h);
        rules = definitions.stream().map(AlarmDefinitions::rule).toList();
      }
      if (!AlarmRules.concerns(type, rules)) {
        return;
      }
      if (now == null) {
        // Serialize the transactions that may raise or count alarms: without it, two that store
        // a matching event for one source at once both find no open alarm and both raise one.
        // Locking the enabled definitions' rows, all of them and always in id order, is correct
        // on both databases without a deadlock between batches that touch definitions in
        // different orders, and costs nothing for events that no definition concerns. A unique
        // index on open alarms would need a partial index, which H2 does not have.
        lockDefinitions(h);
        now = h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
      }
      List<AlarmRules.OpenAlarm> open =
          h.createQuery(
                  "SELECT id, definition_id, source, last_event_at FROM alarms WHERE source ="
                      + " :source AND state <> 'closed'")
              .bind("source", source)
              .map(
                  (rs, ctx) ->
                      new AlarmRules.OpenAlarm(
                          rs.getLong("id"),
                          rs.getObject("definition_id", UUID.class),
                          rs.getString("source"),
                          rs.getTimestamp("last_event_at").toInstant()))
              .list();
      if (activeRules == null) {
        Instant at = now;
        activeRules = definitions.stream().map(d -> AlarmDefinitions.rule(d, at)).toList();
      }
      for (AlarmRules.Decision d : AlarmRules.decide(type, source, now, activeRules, open)) {
        switch (d) {
          case AlarmRules.Raise r -> raise(definition(r.definition()), eventId, source);
          case AlarmRules.Count c ->
              h.createUpdate(
                      "UPDATE alarms SET event_count = event_count + 1, last_event_id = :event,"
                          + " last_event_at = CURRENT_TIMESTAMP WHERE id = :id")
                  .bind("event", eventId)
                  .bind("id", c.alarm())
                  .execute();
          case AlarmRules.Close c -> {
            h.createUpdate(
                    "UPDATE alarms SET state = 'closed', revision = revision + 1, updated_at ="
                        + " CURRENT_TIMESTAMP WHERE id = :id")
                .bind("id", c.alarm())
                .execute();
            activity(
                h, c.alarm(), SYSTEM_ACTOR, "closed", "by event " + eventId + " (" + type + ")");
          }
        }
      }
    }

    private AlarmDefinition definition(UUID id) {
      return definitions.stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow();
    }

    private void raise(AlarmDefinition d, long eventId, String source) {
      long id =
          h.createUpdate(
                  "INSERT INTO alarms (definition_id, source, state, priority, category, owner,"
                      + " event_count, first_event_id, last_event_id, raised_at, last_event_at,"
                      + " updated_at, revision, action_due_at) VALUES (:definition, :source,"
                      + " 'new', :priority, :category, :owner, 1, :event, :event,"
                      + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, :due)")
              .bind("definition", d.id())
              .bind("source", source)
              .bind("priority", d.priority())
              .bind("category", d.category())
              .bind("owner", d.initialOwner())
              .bind("event", eventId)
              .bind(
                  "due",
                  AlarmRules.actionDueAt(now, d.actionRequiredWithinSeconds())
                      .map(Timestamp::from)
                      .orElse(null))
              .executeAndReturnGeneratedKeys("id")
              .mapTo(Long.class)
              .one();
      activity(
          h, id, SYSTEM_ACTOR, "raised", "by event " + eventId + " (definition " + d.name() + ")");
    }
  }

  // ---- reading

  /**
   * Alarms by priority (1 first), newest first within a priority.
   *
   * @param cursor the previous page's {@code nextCursor}, or null for the first page
   * @param limit page size, 1-500
   */
  public Page list(Filter f, String cursor, int limit) {
    Position after = Position.decode(cursor);
    String state = f.state() == null ? null : AlarmState.parse("state", f.state()).id();
    String source = f.source() == null ? null : EventSource.parse("source", f.source()).text();
    return fence.read(
        h -> {
          StringBuilder sql = new StringBuilder("SELECT * FROM alarms WHERE 1 = 1");
          Map<String, Object> binds = new HashMap<>();
          filter(sql, binds, "state = :state", "state", state);
          filter(sql, binds, "priority = :priority", "priority", f.priority());
          filter(sql, binds, "category = :category", "category", f.category());
          filter(sql, binds, "source = :source", "source", source);
          filter(sql, binds, "owner = :owner", "owner", f.owner());
          filter(sql, binds, "raised_at >= :since", "since", timestamp(f.since()));
          filter(sql, binds, "raised_at < :until", "until", timestamp(f.until()));
          List<Alarm> rows;
          if (after == null) {
            rows = page(h, sql + " ORDER BY priority, id DESC LIMIT :limit", binds, limit + 1);
          } else {
            // The rest of the cursor's priority, then the priorities after it: two ranges of the
            // index on (priority, id DESC), each read from its start. One condition with OR made
            // the database read the index from the first alarm up to the cursor, so a page deep in
            // the list took time linear in its depth.
            binds.put("afterPriority", after.priority());
            binds.put("afterId", after.id());
            rows =
                new ArrayList<>(
                    page(
                        h,
                        sql
                            + " AND priority = :afterPriority AND id < :afterId"
                            + " ORDER BY priority, id DESC LIMIT :limit",
                        binds,
                        limit + 1));
            if (rows.size() <= limit) {
              binds.remove("afterId");
              rows.addAll(
                  page(
                      h,
                      sql
                          + " AND priority > :afterPriority ORDER BY priority, id DESC LIMIT :limit",
                      binds,
                      limit + 1 - rows.size()));
            }
          }
          if (rows.size() > limit) {
            List<Alarm> page = List.copyOf(rows.subList(0, limit));
            Alarm last = page.get(limit - 1);
            return new Page(page, new Position(last.priority(), last.id()).encode());
          }
          return new Page(List.copyOf(rows), null);
        });
  }

  private static List<Alarm> page(Handle h, String sql, Map<String, Object> binds, int limit) {
    var q = h.createQuery(sql).bind("limit", limit);
    binds.forEach(q::bind);
    return q.map(Alarms::row).list();
  }

  public Detail get(long id) {
    return fence.read(h -> detail(h, find(h, id).orElseThrow(() -> notFound(id))));
  }

  // ---- handling

  /**
   * Changes an alarm's state and owner.
   *
   * @throws ApiException 409 {@code illegal_transition} naming both states when the lifecycle does
   *     not allow the change, 409 {@code version_conflict} for a stale revision; neither changes
   *     anything
   */
  public Detail update(Principal actor, long id, long expectedRevision, Change change) {
    AlarmState next = change.state() == null ? null : AlarmState.parse("state", change.state());
    String owner = change.owner() == null ? null : owner(change.owner());
    return fence.write(
        h -> {
          Alarm before = lock(h, id, expectedRevision);
          AlarmState current = AlarmState.fromId(before.state());
          boolean stateChanges = next != null && next != current;
          if (stateChanges && !current.canChangeTo(next)) {
            throw ApiException.conflict(
                "illegal_transition",
                "Alarm "
                    + id
                    + " is "
                    + current.id()
                    + " and cannot become "
                    + next.id()
                    + ": alarms move forward from new to in_progress, on_hold and closed, and"
                    + " back to new from any state.");
          }
          String newOwner = owner == null ? before.owner() : owner.isEmpty() ? null : owner;
          boolean ownerChanges =
              change.owner() != null && !java.util.Objects.equals(newOwner, before.owner());
          if (!stateChanges && !ownerChanges) {
            return detail(h, before);
          }
          h.createUpdate(
                  "UPDATE alarms SET state = :state, owner = :owner, revision = revision + 1,"
                      + " updated_at = CURRENT_TIMESTAMP, action_due_at = CASE WHEN :stateChanges"
                      + " THEN NULL ELSE action_due_at END WHERE id = :id")
              .bind("stateChanges", stateChanges)
              .bind("state", stateChanges ? next.id() : current.id())
              .bind("owner", newOwner)
              .bind("id", id)
              .execute();
          if (stateChanges) {
            activity(h, id, actor.name(), "state", current.id() + " -> " + next.id());
          }
          if (ownerChanges) {
            activity(h, id, actor.name(), "owner", newOwner == null ? "(none)" : newOwner);
          }
          Alarm after = find(h, id).orElseThrow();
          AuditLog.record(h, actor, "alarm.updated", OBJECT_TYPE, Long.toString(id), before, after);
          return detail(h, after);
        });
  }

  /** Adds a comment; it changes the alarm's revision, since its detail changes. */
  public Detail comment(Principal actor, long id, NewComment in) {
    String text = commentText(in.text());
    return fence.write(
        h -> {
          Alarm before = lock(h, id, null);
          h.createUpdate(
                  "UPDATE alarms SET revision = revision + 1, updated_at = CURRENT_TIMESTAMP"
                      + " WHERE id = :id")
              .bind("id", id)
              .execute();
          activity(h, id, actor.name(), "commented", text);
          Alarm after = find(h, id).orElseThrow();
          AuditLog.record(
              h, actor, "alarm.commented", OBJECT_TYPE, Long.toString(id), before, after);
          return detail(h, after);
        });
  }

  // ---- escalation

  /** The most alarms one escalation tick handles; the next tick takes the rest. */
  static final int ESCALATION_BATCH = 100;

  /** The site event an alarm raises when no operator acted on it in time. */
  public static final String ESCALATED = "alarm.escalated";

  /**
   * One escalation tick: every alarm still {@code new} whose definition's {@code
   * actionRequiredWithinSeconds} ran out by the database's clock raises {@value #ESCALATED}
   * (source: the alarm's source) in this transaction, once: its due time is cleared and the
   * escalation is appended to its activity log. One indexed query when nothing is due.
   *
   * @return how many alarms escalated
   */
  public int escalate(SiteEvents events) {
    return fence.write(
        h -> {
          Instant now =
              h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
          boolean any =
              h.createQuery(
                      "SELECT id FROM alarms WHERE action_due_at <= :now ORDER BY action_due_at"
                          + " LIMIT 1")
                  .bind("now", Timestamp.from(now))
                  .mapTo(Long.class)
                  .findOne()
                  .isPresent();
          if (!any) {
            return 0;
          }
          // The escalation event may raise or count alarms too, which locks the definitions and
          // then alarms (Raiser); take the locks in that same order, or a tick and an ingest
          // counting on the same alarm could deadlock.
          lockDefinitions(h);
          List<Alarm> due =
              h.createQuery(
                      "SELECT * FROM alarms WHERE action_due_at <= :now ORDER BY action_due_at,"
                          + " id LIMIT :limit FOR UPDATE")
                  .bind("now", Timestamp.from(now))
                  .bind("limit", ESCALATION_BATCH)
                  .map(Alarms::row)
                  .list();
          int escalated = 0;
          for (Alarm a : due) {
            h.createUpdate("UPDATE alarms SET action_due_at = NULL WHERE id = :id")
                .bind("id", a.id())
                .execute();
            Instant dueAt = a.actionDueAt();
            if (!AlarmRules.escalates(a.state(), dueAt, now)) {
              continue; // handled, or no longer due: nothing more to wait for
            }
            long waited = Duration.between(a.raisedAt(), now).toSeconds();
            activity(
                h,
                a.id(),
                SYSTEM_ACTOR,
                "escalated",
                "no operator action within the definition's limit (" + waited + " s since raised)");
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("alarmId", a.id());
            data.put("definitionId", a.definitionId().toString());
            data.put("priority", a.priority());
            events.raise(
                h,
                ESCALATED,
                a.source(),
                "warning",
                "Alarm " + a.id() + " is still new " + waited + " s after it was raised",
                data);
            escalated++;
          }
          return escalated;
        });
  }

  // ---- retention

  /**
   * Deletes, in one transaction, up to {@code retention.batch()} alarms past their retention by the
   * database's clock: closed ones first, then the others.
   *
   * @return how many it deleted
   */
  static int purgeBatch(Handle h, AlarmRetention retention) {
    Instant now =
        h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
    int deleted = 0;
    Optional<Instant> closed = retention.closedCutoff(now);
    if (closed.isPresent()) {
      deleted += purge(h, "state = 'closed'", closed.get(), retention.batch());
    }
    Optional<Instant> other = retention.otherCutoff(now);
    if (other.isPresent() && deleted < retention.batch()) {
      deleted += purge(h, "state <> 'closed'", other.get(), retention.batch() - deleted);
    }
    return deleted;
  }

  private static int purge(Handle h, String stateCondition, Instant cutoff, int limit) {
    return h.createUpdate(
            "DELETE FROM alarms WHERE id IN (SELECT id FROM alarms WHERE updated_at < :cutoff AND"
                + " last_event_at < :cutoff AND "
                + stateCondition
                + " ORDER BY id LIMIT :batch)")
        .bind("cutoff", Timestamp.from(cutoff))
        .bind("batch", limit)
        .execute();
  }

  /**
   * One round of the alarm purge: batches of one fenced transaction each until the expired alarms
   * are gone or the round's share is done.
   *
   * @return how many alarms it deleted
   */
  public int purge(AlarmRetention retention) {
    if (!retention.purges()) {
      return 0;
    }
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

  // ---- helpers

  /**
   * Locks the enabled alarm definitions' rows, all of them in id order: what serializes the
   * transactions that may raise or count alarms (see {@link Raiser}).
   */
  static void lockDefinitions(Handle h) {
    h.createQuery("SELECT id FROM alarm_definitions WHERE enabled = TRUE ORDER BY id FOR UPDATE")
        .mapTo(UUID.class)
        .list();
  }

  private static void activity(Handle h, long alarmId, String actor, String action, String detail) {
    h.createUpdate(
            "INSERT INTO alarm_activity (alarm_id, happened_at, actor, action, detail) VALUES"
                + " (:alarm, CURRENT_TIMESTAMP, :actor, :action, :detail)")
        .bind("alarm", alarmId)
        .bind("actor", actor)
        .bind("action", action)
        .bind("detail", detail)
        .execute();
  }

  private static Detail detail(Handle h, Alarm alarm) {
    List<Activity> activity =
        h.createQuery(
                "SELECT happened_at, actor, action, detail FROM alarm_activity WHERE alarm_id ="
                    + " :id ORDER BY id")
            .bind("id", alarm.id())
            .map(
                (rs, ctx) ->
                    new Activity(
                        Sql.instant(rs.getTimestamp("happened_at")),
                        rs.getString("actor"),
                        rs.getString("action"),
                        rs.getString("detail")))
            .list();
    List<Comment> comments =
        activity.stream()
            .filter(a -> a.action().equals("commented"))
            .map(a -> new Comment(a.at(), a.actor(), a.detail()))
            .toList();
    return new Detail(alarm, activity, comments);
  }

  private static Alarm lock(Handle h, long id, Long expectedRevision) {
    Alarm current =
        h.createQuery("SELECT * FROM alarms WHERE id = :id FOR UPDATE")
            .bind("id", id)
            .map(Alarms::row)
            .findOne()
            .orElseThrow(() -> notFound(id));
    if (expectedRevision != null && current.revision() != expectedRevision) {
      throw ApiException.conflict(
          "version_conflict",
          "Alarm "
              + id
              + " was changed by someone else (your revision "
              + expectedRevision
              + ", current "
              + current.revision()
              + "). Read it again, reapply your change and send the new ETag in If-Match.");
    }
    return current;
  }

  private static Optional<Alarm> find(Handle h, long id) {
    return h.createQuery("SELECT * FROM alarms WHERE id = :id")
        .bind("id", id)
        .map(Alarms::row)
        .findOne();
  }

  private static ApiException notFound(long id) {
    return ApiException.notFound("Alarm", Long.toString(id));
  }

  private static String owner(String value) {
    String trimmed = value.strip();
    if (Text.length(trimmed) > 200 || Text.notPrintable(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \"owner\" must be a user name of at most 200 characters without control or"
              + " invisible formatting characters, or \"\" to unassign.");
    }
    return trimmed;
  }

  private static String commentText(String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"text\" is required.");
    }
    String trimmed = value.strip();
    if (trimmed.isEmpty() || Text.length(trimmed) > MAX_COMMENT || Text.notText(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_value", "Field \"text\" must be 1 to " + MAX_COMMENT + " characters of text.");
    }
    return trimmed;
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

  static Alarm row(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Alarm(
        rs.getLong("id"),
        rs.getString("state"),
        rs.getInt("priority"),
        rs.getObject("definition_id", UUID.class),
        rs.getString("source"),
        rs.getInt("event_count"),
        rs.getString("owner"),
        rs.getString("category"),
        Sql.instant(rs.getTimestamp("raised_at")),
        Sql.instant(rs.getTimestamp("last_event_at")),
        Sql.instant(rs.getTimestamp("updated_at")),
        rs.getLong("first_event_id"),
        rs.getLong("last_event_id"),
        rs.getLong("revision"),
        Sql.instant(rs.getTimestamp("action_due_at")));
  }

  /**
   * Where a page of the list ends: the last alarm's priority and id. Only cursors this API issued
   * are accepted, so a client cannot come to rely on what is inside.
   */
  record Position(int priority, long id) {
    private static final String PREFIX = "alarm>";
    private static final Pattern TEXT = Pattern.compile("alarm>([1-9][0-9]?):([1-9][0-9]{0,17})");

    String encode() {
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString((PREFIX + priority + ":" + id).getBytes(StandardCharsets.UTF_8));
    }

    static Position decode(String cursor) {
      if (cursor == null || cursor.isEmpty()) {
        return null;
      }
      try {
        String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
        var m = TEXT.matcher(text);
        if (m.matches()) {
          Position p = new Position(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)));
          if (p.encode().equals(cursor)) {
            return p;
          }
        }
      } catch (IllegalArgumentException e) {
        // not a cursor: answered below
      }
      throw ApiException.badRequest(
          "invalid_cursor",
          "cursor="
              + Text.excerpt(cursor)
              + " is not a cursor this API issued; start again without it.");
    }
  }
}
