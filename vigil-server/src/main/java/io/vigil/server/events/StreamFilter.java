package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a client of the live stream asked for: events, alarm changes or both; only events of some
 * types; only what is about one source (an alarm is about its source).
 *
 * @param events whether to send events
 * @param alarms whether to send alarm changes
 * @param types the event types to send, or empty for every type
 * @param source the source to send events and alarm changes about, or null for every source
 */
record StreamFilter(boolean events, boolean alarms, Set<String> types, String source) {

  /** At most this many event types in one filter. */
  static final int MAX_TYPES = 30;

  StreamFilter {
    types = Set.copyOf(types);
  }

  /**
   * The filter of a request's query parameters.
   *
   * @param kinds the {@code kinds} parameter: a comma-separated list of {@code events} and {@code
   *     alarms}, or null for all the caller may read
   * @param typeParams each {@code type} parameter, each a comma-separated list of event types
   * @param source the {@code source} parameter, or null
   * @param mayReadAlarms whether the caller has the alarms read permission; without it the stream
   *     is of events only
   * @throws ApiException 400 {@code invalid_kind}, {@code invalid_event_type}, {@code
   *     invalid_source} or {@code too_many_types}; 403 when the caller asks for alarm changes it
   *     may not read
   */
  static StreamFilter of(
      String kinds, List<String> typeParams, String source, boolean mayReadAlarms) {
    boolean events;
    boolean alarms;
    if (kinds == null || kinds.isEmpty()) {
      events = true;
      alarms = mayReadAlarms;
    } else {
      events = false;
      alarms = false;
      for (String kind : kinds.split(",", -1)) {
        switch (kind.trim().toLowerCase(Locale.ROOT)) {
          case "events" -> events = true;
          case "alarms" -> alarms = true;
          default ->
              throw ApiException.badRequest(
                  "invalid_kind",
                  "kinds="
                      + Text.excerpt(kinds)
                      + " names something the stream does not send: use events, alarms or"
                      + " events,alarms.");
        }
      }
      if (alarms && !mayReadAlarms) {
        throw ApiException.forbidden(
            "Alarm changes need the alarms_read permission, which none of the caller's roles"
                + " grants. Ask for kinds=events, or ask an administrator for a role that has it.");
      }
    }
    Set<String> types = new LinkedHashSet<>();
    for (String param : typeParams) {
      for (String type : param.split(",", -1)) {
        types.add(EventInput.type("type", type.trim()));
      }
    }
    if (types.size() > MAX_TYPES) {
      throw ApiException.badRequest(
          "too_many_types",
          "The stream takes at most " + MAX_TYPES + " event types; " + types.size() + " given.");
    }
    String checkedSource =
        source == null || source.isEmpty() ? null : EventSource.parse("source", source).text();
    return new StreamFilter(events, alarms, types, checkedSource);
  }
}
