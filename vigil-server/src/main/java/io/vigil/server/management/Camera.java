package io.vigil.server.management;

import java.time.Instant;
import java.util.UUID;

/** A camera: one channel of a hardware device, recorded by that device's recording server. */
public record Camera(
    UUID id,
    String name,
    UUID hardwareId,
    UUID recordingServerId,
    int channel,
    boolean enabled,
    long revision,
    Instant createdAt,
    Instant updatedAt) {}
