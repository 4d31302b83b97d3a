package io.vigil.server.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vigil.server.http.Json;
import io.vigil.server.security.Principal;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The audit log. An entry is written in the same transaction as the change it describes, so a
 * change and its entry commit together or not at all. Before and after are the object's API
 * representations; secrets never appear in them because API representations never carry secrets.
 *
 * <p>Security events (sign-ins, lockouts, refused permissions, detected token reuse) are entries
 * too, with the client address they came from ({@link #recordEvent}); their {@code after} holds the
 * event's details, never a password or token.
 */
public final class AuditLog {

  /** One entry as the API shows it. */
  public record Entry(
      long id,
      Instant at,
      String actor,
      String actorId,
      String action,
      String objectType,
      String objectId,
      Object before,
      Object after,
      String address) {}

  /** A page of entries, newest first, and the cursor for the next page (null at the end). */
  public record Page(List<Entry> items, String nextCursor) {}

  private final Jdbi jdbi;

  public AuditLog(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /**
   * Records a change inside the caller's transaction.
   *
   * @param before the object before the change, null when created
   * @param after the object after the change, null when removed
   */
  public static void record(
      Handle h,
      Principal actor,
      String action,
      String objectType,
      String objectId,
      Object before,
      Object after) {
    insert(h, actor.name(), actor.subject(), null, action, objectType, objectId, before, after);
  }

  /**
   * Records a security event inside the caller's transaction.
   *
   * @param actor who: a user name (as typed, for a sign-in) or a client id
   * @param actorId the user's id or the client id; {@code -} when there is none (an unknown user)
   * @param address where from: the client address
   * @param details what else an operator needs (the client, the reason), as the entry's {@code
   *     after}
   */
  public static void recordEvent(
      Handle h,
      String actor,
      String actorId,
      String address,
      String action,
      String objectType,
      String objectId,
      Object details) {
    insert(h, actor, actorId, address, action, objectType, objectId, null, details);
  }

  private static void insert(
      Handle h,
      String actor,
      String actorId,
      String address,
      String action,
      String objectType,
      String objectId,
      Object before,
      Object after) {
    h.createUpdate(
            "INSERT INTO audit_log (actor, actor_id, client_address, action, object_type,"
                + " object_id, before_json, after_json) VALUES (:actor, :actorId, :address,"
                + " :action, :type, :id, :before, :after)")
        .bind("actor", clip(actor, 200))
        .bind("actorId", clip(actorId, 200))
        .bind("address", clip(address, 64))
        .bind("action", action)
        .bind("type", objectType)
        .bind("id", clip(objectId, 200))
        .bind("before", toJson(before))
        .bind("after", toJson(after))
        .execute();
  }

  private static String clip(String value, int max) {
    return value == null || value.length() <= max ? value : value.substring(0, max);
  }

  /**
   * Entries newest first.
   *
   * @param before only entries with an id below this (the previous page's cursor), or null
   * @param objectType only entries about this type of object, or null
   * @param limit page size, 1-500
   */
  public Page query(Long before, String objectType, String objectId, int limit) {
    return jdbi.withHandle(
        h -> {
          StringBuilder sql = new StringBuilder("SELECT * FROM audit_log WHERE 1=1");
          if (before != null) {
            sql.append(" AND id < :before");
          }
          if (objectType != null) {
            sql.append(" AND object_type = :type");
          }
          if (objectId != null) {
            sql.append(" AND object_id = :objectId");
          }
          sql.append(" ORDER BY id DESC LIMIT :limit");
          var q = h.createQuery(sql.toString()).bind("limit", limit + 1);
          if (before != null) {
            q.bind("before", before);
          }
          if (objectType != null) {
            q.bind("type", objectType);
          }
          if (objectId != null) {
            q.bind("objectId", objectId);
          }
          List<Entry> rows =
              q.map(
                      (rs, c) ->
                          new Entry(
                              rs.getLong("id"),
                              rs.getTimestamp("at").toInstant(),
                              rs.getString("actor"),
                              rs.getString("actor_id"),
                              rs.getString("action"),
                              rs.getString("object_type"),
                              rs.getString("object_id"),
                              fromJson(rs.getString("before_json")),
                              fromJson(rs.getString("after_json")),
                              rs.getString("client_address")))
                  .list();
          if (rows.size() > limit) {
            List<Entry> page = rows.subList(0, limit);
            return new Page(List.copyOf(page), Long.toString(page.get(page.size() - 1).id()));
          }
          return new Page(rows, null);
        });
  }

  private static String toJson(Object value) {
    if (value == null) {
      return null;
    }
    try {
      return Json.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot write audit entry", e);
    }
  }

  private static Object fromJson(String json) {
    if (json == null) {
      return null;
    }
    try {
      return Json.MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      return json;
    }
  }
}
