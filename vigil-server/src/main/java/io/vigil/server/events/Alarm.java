package io.vigil.server.events;

import java.time.Instant;
import java.util.UUID;

/**
 * An alarm as the API lists it.
 *
 * @param id assigned in the order alarms were raised
 * @param state {@code new}, {@code in_progress}, {@code on_hold} or {@code closed}
 * @param priority and {@code category}: the definition's when the alarm was raised
 * @param count how many events the alarm stands for: the one that raised it and those counted on it
 *     within the definition's reactivation threshold
 * @param owner the user name the alarm is assigned to, or null
 * @param raisedAt when it was raised, by the database's clock
 * @param lastEventAt when it was raised or last counted, by the database's clock
 * @param actionDueAt when an operator must have acted on it (its definition's {@code
 *     actionRequiredWithinSeconds} after it was raised) or it escalates; null when its definition
 *     sets no limit, once an operator changed its state, and once it escalated
 */
public record Alarm(
    long id,
    String state,
    int priority,
    UUID definitionId,
    String source,
    int count,
    String owner,
    String category,
    Instant raisedAt,
    Instant lastEventAt,
    Instant updatedAt,
    long firstEventId,
    long lastEventId,
    long revision,
    Instant actionDueAt) {}
