package io.vigil.client;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One message of the live stream.
 *
 * @param kind {@code event} (an event as {@code GET /api/v1/events} shows it) or {@code alarm} (a
 *     change to an alarm: the activity entry and the alarm)
 * @param id the stream position right after this message; resuming from it gets what followed
 * @param data the message's JSON
 */
public record StreamMessage(String kind, String id, JsonNode data) {}
