package io.vigil.server.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The body of {@code POST /api/v1/events}: one event, or {@code {"events": [...]}} with up to
 * {@link #MAX_BATCH} of them, and the rules every event must meet before anything is stored.
 */
public final class EventInput {

  /** Most events in one request. */
  public static final int MAX_BATCH = 1000;

  /** Most bytes of an event's data object, serialized as JSON in UTF-8. */
  public static final int MAX_DATA_BYTES = 8 * 1024;

  static final int MAX_TYPE = 100;
  static final int MAX_MESSAGE = 1000;
  static final int MAX_KEY = 200;

  /** Dotted lower-case names: {@code server.offline}, {@code camera.motion_started}. */
  static final Pattern TYPE = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*");

  private EventInput() {}

  /** One event as a client sends it. */
  public record NewEvent(
      String type,
      String source,
      String severity,
      String message,
      JsonNode data,
      String idempotencyKey,
      String time) {}

  /** The request body: either the fields of one event, or {@code events} alone. */
  public record Ingest(
      String type,
      String source,
      String severity,
      String message,
      JsonNode data,
      String idempotencyKey,
      String time,
      List<NewEvent> events) {

    /**
     * Every event of the body, checked.
     *
     * @throws ApiException 400 naming the first field (as {@code events[3].type} in a batch) that
     *     breaks a rule
     */
    List<Draft> validated() {
      if (events == null) {
        return List.of(
            check(new NewEvent(type, source, severity, message, data, idempotencyKey, time), ""));
      }
      if (type != null
          || source != null
          || severity != null
          || message != null
          || data != null
          || idempotencyKey != null
          || time != null) {
        throw ApiException.badRequest(
            "mixed_body",
            "Send either one event's fields or \"events\" with a list of events, not both.");
      }
      if (events.isEmpty() || events.size() > MAX_BATCH) {
        throw ApiException.badRequest(
            "invalid_batch",
            "Field \"events\" has "
                + events.size()
                + " events: send 1 to "
                + MAX_BATCH
                + " per request, and split larger batches.");
      }
      List<Draft> drafts = new ArrayList<>(events.size());
      for (int i = 0; i < events.size(); i++) {
        String prefix = "events[" + i + "].";
        NewEvent e = events.get(i);
        if (e == null) {
          throw ApiException.badRequest(
              "wrong_type", "Field \"events[" + i + "]\" is null: send an event object.");
        }
        drafts.add(check(e, prefix));
      }
      return List.copyOf(drafts);
    }
  }

  /**
   * An event that meets every rule that needs no database.
   *
   * @param time the client's time, or null for the database's time of storing it
   * @param data the data object as JSON text, or null
   */
  record Draft(
      String type,
      EventSource source,
      Severity severity,
      String message,
      String data,
      String idempotencyKey,
      Instant time) {}

  static Draft check(NewEvent e, String prefix) {
    return new Draft(
        type(prefix + "type", e.type()),
        EventSource.posted(prefix + "source", e.source()),
        Severity.parse(prefix + "severity", e.severity()),
        message(prefix + "message", e.message()),
        data(prefix + "data", e.data()),
        key(prefix + "idempotencyKey", e.idempotencyKey()),
        time(prefix + "time", e.time()));
  }

  /**
   * @throws ApiException 400 {@code invalid_event_type} unless a dotted lower-case name of at most
   *     {@value #MAX_TYPE} characters
   */
  static String type(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    if (value.length() > MAX_TYPE || !TYPE.matcher(value).matches()) {
      throw ApiException.badRequest(
          "invalid_event_type",
          "Field \""
              + field
              + "\" is \""
              + Text.excerpt(value)
              + "\", which is no event type: use a dotted lower-case name of at most "
              + MAX_TYPE
              + " characters, e.g. camera.motion_started.");
    }
    return value;
  }

  private static String message(String field, String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.strip();
    if (Text.length(trimmed) > MAX_MESSAGE || Text.notPrintable(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \""
              + field
              + "\" must be at most "
              + MAX_MESSAGE
              + " characters without control or invisible formatting characters.");
    }
    return trimmed;
  }

  private static String key(String field, String value) {
    if (value == null) {
      return null;
    }
    if (value.isEmpty() || Text.length(value) > MAX_KEY || Text.notPrintable(value) != null) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \""
              + field
              + "\" must be 1 to "
              + MAX_KEY
              + " characters without control or invisible formatting characters, e.g. a UUID"
              + " the client made for the event.");
    }
    return value;
  }

  private static String data(String field, JsonNode value) {
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isObject()) {
      throw ApiException.badRequest(
          "invalid_data", "Field \"" + field + "\" must be a JSON object, e.g. {\"zone\": 3}.");
    }
    String json;
    try {
      json = Json.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("invalid_data", "Field \"" + field + "\" cannot be stored.");
    }
    int bytes = json.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_DATA_BYTES) {
      throw ApiException.badRequest(
          "data_too_large",
          "Field \""
              + field
              + "\" is "
              + bytes
              + " bytes as JSON; at most "
              + MAX_DATA_BYTES
              + " are kept with an event. Keep large content elsewhere and refer to it.");
    }
    String problem = Text.notText(json);
    if (problem != null) {
      throw ApiException.badRequest("invalid_text", "Field \"" + field + "\" " + problem + ".");
    }
    return json;
  }

  /** The first year that cannot be an event's; both databases store times before it. */
  private static final int YEAR_LIMIT = 10_000;

  /**
   * @throws ApiException 400 {@code invalid_time} unless an ISO-8601 date and time with an offset
   *     between the years 1970 and 9999
   */
  static Instant time(String field, String value) {
    if (value == null) {
      return null;
    }
    return parseTime(value)
        .orElseThrow(
            () -> invalidTime("Field \"" + field + "\" is \"" + Text.excerpt(value) + "\""));
  }

  /** An ISO-8601 date and time with an offset between the years 1970 and 9999, or empty. */
  public static Optional<Instant> parseTime(String value) {
    try {
      OffsetDateTime t = OffsetDateTime.parse(value);
      if (t.getYear() >= 1970 && t.getYear() < YEAR_LIMIT) {
        return Optional.of(t.toInstant());
      }
    } catch (DateTimeParseException e) {
      // no time: empty
    }
    return Optional.empty();
  }

  /** 400 {@code invalid_time} for {@code what} (the field or parameter and its value). */
  public static ApiException invalidTime(String what) {
    return ApiException.badRequest(
        "invalid_time",
        what
            + ", which is no time: use ISO-8601 with an offset between the years 1970 and 9999,"
            + " e.g. 2026-12-06T21:00:00Z.");
  }
}
