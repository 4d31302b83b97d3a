package io.vigil.server.management;

import java.time.Instant;
import java.util.UUID;

/**
 * A hardware device (camera encoder, NVR channel box, …) as the API shows it. The device password
 * is write-only: the API says whether one is set, never what it is.
 */
public record Hardware(
    UUID id,
    String name,
    UUID recordingServerId,
    String address,
    String model,
    String username,
    boolean passwordSet,
    boolean enabled,
    long revision,
    Instant createdAt,
    Instant updatedAt) {}
