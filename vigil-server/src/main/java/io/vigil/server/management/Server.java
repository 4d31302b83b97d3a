package io.vigil.server.management;

import java.time.Instant;
import java.util.UUID;

/**
 * A registered server as the API shows it.
 *
 * @param version the server's software version (not the object's revision)
 * @param revision the optimistic-concurrency revision, also sent as the ETag
 * @param registeredBy the client id of the component that registered the server; null when a user
 *     registered it or it was registered before registrants were recorded
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
    String registeredBy,
    Instant updatedAt,
    Instant lastSeenAt) {}
