package io.vigil.client;

import java.time.Instant;
import java.util.Map;

/**
 * An event to send: what {@code POST /api/v1/events} takes for one event.
 *
 * @param type a dotted name such as {@code motion.started}
 * @param source the id of the registered server, hardware or camera it is about, or {@code
 *     external:<name>}
 * @param severity {@code info}, {@code warning} or {@code critical}; null for {@code info}
 * @param data further figures, at most 8 KiB of JSON; null for none
 * @param idempotencyKey unique per source: the management server stores an event with a key it has
 *     seen for that source once. {@link VigilClient#sendEvents} gives every event without one a
 *     random key before the first attempt, so that its retries cannot store it twice.
 * @param time when it happened; null for the time the management server receives it
 */
public record EventDraft(
    String type,
    String source,
    String severity,
    String message,
    Map<String, Object> data,
    String idempotencyKey,
    Instant time) {

  /** An event of {@code type} about {@code source}, with nothing else set. */
  public static EventDraft of(String type, String source, String message) {
    return new EventDraft(type, source, null, message, null, null, null);
  }

  /** This event with {@code key} as its idempotency key. */
  public EventDraft withIdempotencyKey(String key) {
    return new EventDraft(type, source, severity, message, data, key, time);
  }
}
