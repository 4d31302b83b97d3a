package io.vigil.server.events;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What the alarm purge deletes: closed alarms last changed more than {@code closedDays} days before
 * the database's clock now, and alarms in any other state last changed more than {@code otherDays}
 * days before it ("last changed": neither handled by an operator nor counted an event since), at
 * most {@code batch} per transaction and at most {@code maxBatches} transactions per round, like
 * {@link EventRetention}. An alarm's activity log goes with it.
 *
 * @param closedDays 0 keeps closed alarms for ever
 * @param otherDays 0 keeps the other alarms for ever
 */
public record AlarmRetention(int closedDays, int otherDays, int batch, int maxBatches) {

  public AlarmRetention {
    if (closedDays < 0 || otherDays < 0 || batch < 1 || maxBatches < 1) {
      throw new IllegalArgumentException(
          "retention " + closedDays + "/" + otherDays + "/" + batch + "/" + maxBatches);
    }
  }

  public static AlarmRetention ofDays(int closedDays, int otherDays) {
    return new AlarmRetention(
        closedDays, otherDays, EventRetention.BATCH, EventRetention.MAX_BATCHES);
  }

  /** Whether the purge ever deletes anything. */
  public boolean purges() {
    return closedDays != 0 || otherDays != 0;
  }

  /** Closed alarms last changed before this are deleted; empty when they are kept for ever. */
  Optional<Instant> closedCutoff(Instant databaseNow) {
    return cutoff(databaseNow, closedDays);
  }

  /** Other alarms last changed before this are deleted; empty when they are kept for ever. */
  Optional<Instant> otherCutoff(Instant databaseNow) {
    return cutoff(databaseNow, otherDays);
  }

  private static Optional<Instant> cutoff(Instant now, int days) {
    return days == 0 ? Optional.empty() : Optional.of(now.minus(Duration.ofDays(days)));
  }

  /**
   * Whether to run another batch in this round, after batch number {@code done} (from 1) deleted
   * {@code deleted} alarms: a batch that was not full found the last of them.
   */
  boolean another(int done, int deleted) {
    return deleted == batch && done < maxBatches;
  }
}
