package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.util.regex.Pattern;

/**
 * Where a client of the live stream is: the last event id and the last alarm activity id it has
 * been sent everything up to (among what its filter lets through). Every message's SSE {@code id}
 * is the position right after it, written {@code <events>.<alarms>}, so a client that reconnects
 * with {@code Last-Event-ID} gets exactly what came after its last message: the ids of both tables
 * only grow, and the stream only sends rows below a settled high-water mark (see {@link
 * EventStream}).
 *
 * @param events every event with an id at or below this has been dealt with
 * @param alarms every alarm change with an activity id at or below this has been dealt with
 */
public record StreamPosition(long events, long alarms) {

  private static final Pattern TEXT =
      Pattern.compile("(0|[1-9][0-9]{0,17})\\.(0|[1-9][0-9]{0,17})");

  /** The SSE id of this position. */
  public String id() {
    return events + "." + alarms;
  }

  /** Whether this position is at or past {@code other} in both tables. */
  boolean reached(StreamPosition other) {
    return events >= other.events && alarms >= other.alarms;
  }

  /** The later of the two in each table: a high-water mark never moves back. */
  StreamPosition atLeast(StreamPosition other) {
    return new StreamPosition(Math.max(events, other.events), Math.max(alarms, other.alarms));
  }

  /**
   * The position a client sent back, or null when it sent none.
   *
   * @throws ApiException 400 {@code invalid_last_event_id} for anything this stream cannot have
   *     sent as an id
   */
  static StreamPosition parse(String id) {
    if (id == null || id.isEmpty()) {
      return null;
    }
    var m = TEXT.matcher(id);
    if (!m.matches()) {
      throw ApiException.badRequest(
          "invalid_last_event_id",
          "Last-Event-ID \""
              + Text.excerpt(id)
              + "\" is not an id this stream sent (they look like 1520.37); reconnect without it"
              + " to start from now.");
    }
    return new StreamPosition(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }
}
