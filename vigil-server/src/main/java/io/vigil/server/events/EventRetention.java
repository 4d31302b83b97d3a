package io.vigil.server.events;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What the retention purge deletes: events received more than {@code days} days before the
 * database's clock now, at most {@code batch} per transaction and at most {@code maxBatches}
 * transactions per round, so that a purge after a long pause neither holds locks for long nor
 * starves the API of connections; the next round goes on where this one stopped.
 *
 * @param days 0 keeps events for ever
 */
public record EventRetention(int days, int batch, int maxBatches) {

  public static final int BATCH = 1000;
  public static final int MAX_BATCHES = 100;

  public EventRetention {
    if (days < 0 || batch < 1 || maxBatches < 1) {
      throw new IllegalArgumentException("retention " + days + "/" + batch + "/" + maxBatches);
    }
  }

  public static EventRetention ofDays(int days) {
    return new EventRetention(days, BATCH, MAX_BATCHES);
  }

  /** Events received before this are deleted; empty when events are kept for ever. */
  Optional<Instant> cutoff(Instant databaseNow) {
    return days == 0 ? Optional.empty() : Optional.of(databaseNow.minus(Duration.ofDays(days)));
  }

  /**
   * Whether to run another batch in this round, after batch number {@code done} (from 1) deleted
   * {@code deleted} events: a batch that was not full found the last of them.
   */
  boolean another(int done, int deleted) {
    return deleted == batch && done < maxBatches;
  }
}
