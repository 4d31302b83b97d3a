package io.vigil.server.events;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * An alarm definition as the API shows it: which events raise an alarm and how it is handled.
 *
 * @param sources the sources whose events raise it; empty for any source
 * @param priority 1 (high), 2 (medium), 3 (low), or a custom level up to {@value
 *     AlarmDefinitions#MAX_PRIORITY}
 * @param initialOwner the user name an alarm is assigned to when raised, or null
 * @param actionRequiredWithinSeconds the time an operator has to act, or null
 * @param reactivationSeconds an event within this many seconds of the last one from the same source
 *     is counted on the open alarm instead of raising another; 0 raises one per event
 * @param activeWhen when the definition raises and counts alarms; null for always
 */
public record AlarmDefinition(
    UUID id,
    String name,
    boolean enabled,
    String instructions,
    List<String> eventTypes,
    List<String> sources,
    int priority,
    String category,
    String initialOwner,
    List<String> relatedCameras,
    Integer actionRequiredWithinSeconds,
    int reactivationSeconds,
    List<String> closeOnEventTypes,
    TimeProfile activeWhen,
    long revision,
    Instant createdAt,
    Instant updatedAt) {}
