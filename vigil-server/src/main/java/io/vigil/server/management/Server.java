package io.vigil.server.management;

import java.time.Instant;
import java.util.UUID;

/**
 * A registered server as the API shows it.
 *
 * @param version the server's software version (not the object's revision)
 * @param revision the optimistic-concurrency revision, also sent as the ETag
 */
public record Server(
    UUID id,
    String name,
    String type,
    String address,
    String version,
    String status,
    long revision,
    Instant registeredAt,
    Instant updatedAt,
    Instant lastSeenAt) {}
