package io.vigil.client;

import java.time.Duration;

/**
 * How long to wait before the next attempt of a call: exponential growth from {@code base} to
 * {@code cap} with full jitter (a uniformly random share of the exponential figure), so that many
 * components that lost the same node do not come back in step. A server's {@code Retry-After} is a
 * floor: the wait is never shorter than what the server asked for.
 *
 * @param base the figure of the first retry
 * @param cap the largest figure
 */
record Backoff(Duration base, Duration cap) {

  static final Backoff DEFAULT = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2));

  Backoff {
    if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
      throw new IllegalArgumentException("backoff " + base + " to " + cap);
    }
  }

  /**
   * The wait before retry number {@code attempt} (1 for the first retry).
   *
   * @param random a uniformly random number in [0, 1)
   * @param retryAfter what the server asked for, or null
   */
  Duration delay(int attempt, double random, Duration retryAfter) {
    long capMillis = cap.toMillis();
    long exponential = base.toMillis() << Math.min(Math.max(attempt - 1, 0), 20);
    long bound = Math.min(capMillis, exponential);
    // Never less than a tenth of the bound, so a retry is never an immediate hammering.
    long jittered = Math.max(bound / 10, (long) (random * bound));
    Duration d = Duration.ofMillis(jittered);
    return retryAfter != null && retryAfter.compareTo(d) > 0 ? retryAfter : d;
  }
}
