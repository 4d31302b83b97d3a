package io.vigil.server.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One stored event as the API shows it.
 *
 * @param id assigned by the database in the order events were stored; the query's cursor
 * @param time when the event happened, by the client's clock, or when it was received if the client
 *     gave no time
 * @param receivedAt when it was stored, by the database's clock
 * @param data the event's data object, or null
 */
public record Event(
    long id,
    String type,
    String source,
    String severity,
    Instant time,
    Instant receivedAt,
    String message,
    JsonNode data,
    String idempotencyKey) {}
