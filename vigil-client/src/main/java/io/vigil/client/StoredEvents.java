package io.vigil.client;

import java.util.List;

/**
 * What a post of events stored.
 *
 * @param ids each event's id, in the order they were sent; an event sent before (same source and
 *     idempotency key) has the id it was first stored with
 * @param duplicates how many of them had been stored before
 */
public record StoredEvents(List<Long> ids, int duplicates) {}
