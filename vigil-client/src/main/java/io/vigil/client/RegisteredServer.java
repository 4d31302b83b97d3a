package io.vigil.client;

import java.time.Instant;
import java.util.UUID;

/**
 * A registered server as the management server shows it (further fields a newer server adds are
 * ignored).
 *
 * @param status {@code unknown}, {@code online}, {@code offline} or {@code disabled}
 * @param revision the object's revision; {@code If-Match: "<revision>"} names it for a change
 * @param connection {@code online}, {@code offline} or {@code unknown}
 */
public record RegisteredServer(
    UUID id,
    String name,
    String type,
    String address,
    String version,
    String status,
    long revision,
    Instant lastSeenAt,
    int heartbeatIntervalSeconds,
    String connection,
    Load load) {}
