package io.vigil.server.events;

import java.time.Instant;

/**
 * One change to an alarm, as the live stream sends it: an entry of the alarm's activity log and the
 * alarm as it is when the stream reads the change.
 *
 * @param activityId the activity entry's id, assigned in the order changes were made
 * @param time when the change was made, by the database's clock
 * @param actor who made it ({@code vigil} for raising and closing by an event)
 * @param action {@code raised}, {@code state}, {@code owner}, {@code commented} or {@code closed}
 * @param detail what changed, e.g. {@code new -> in_progress}, or the comment's text
 */
public record AlarmChange(
    long activityId, Instant time, String actor, String action, String detail, Alarm alarm) {}
