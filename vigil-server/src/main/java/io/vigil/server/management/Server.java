package io.vigil.server.management;

import io.vigil.client.Load;
import java.time.Instant;
import java.util.UUID;

/**
 * A registered server as the API shows it.
 *
 * @param version the server's software version (not the object's revision)
 * @param revision the optimistic-concurrency revision, also sent as the ETag
 * @param registeredBy the client id of the component that registered the server; null when a user
 *     registered it or it was registered before registrants were recorded
 * @param heartbeatIntervalSeconds how often the server sends a heartbeat
 * @param connection {@code online}, {@code offline} (no heartbeat for {@code
 *     Collector.MissedHeartbeats} intervals) or {@code unknown} (never heard from, or disabled)
 * @param load the figures of the latest heartbeat that carried any; null before the first. The
 *     SDK's record, so that what a component sends and what the server reads cannot drift
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
    Instant lastSeenAt,
    int heartbeatIntervalSeconds,
    String connection,
    Load load) {}
