package io.vigil.server.cluster;

/**
 * The dead man's switch's decision, on the switch's monotonic clock: the owner arms it with its
 * epoch and a deadline after every renewal; once a deadline passes without a later one, everything
 * started under that epoch or an earlier one must end. Pure and deterministic.
 *
 * <p>An arm for an epoch older than the newest one seen, or for an epoch already swept, is stale
 * and ignored: an owner that was swept has lost that epoch and must acquire a new one before
 * anything of it may run again.
 */
final class SwitchDeadline {

  /** Returned by {@link #due} when nothing must end now. */
  static final long NONE = -1;

  private long armedEpoch = NONE;
  private long deadline;
  private long sweptEpoch = NONE;

  /** The owner renewed: what it started under {@code epoch} may run until {@code deadline}. */
  void arm(long epoch, long deadline) {
    if (epoch <= sweptEpoch || epoch < armedEpoch) {
      return;
    }
    if (epoch > armedEpoch || deadline - this.deadline > 0) {
      this.deadline = deadline;
    }
    armedEpoch = epoch;
  }

  /**
   * At {@code now}: the highest epoch whose processes must be ended now, once per passed deadline,
   * or {@link #NONE}.
   */
  long due(long now) {
    if (armedEpoch > sweptEpoch && now - deadline >= 0) {
      sweptEpoch = armedEpoch;
      return armedEpoch;
    }
    return NONE;
  }

  /** Whether the owner ever armed the switch: whether this node owned the role in its time. */
  boolean everArmed() {
    return armedEpoch != NONE;
  }

  /** Nanoseconds until the deadline of the armed epoch, or {@link Long#MAX_VALUE} when none. */
  long remaining(long now) {
    return armedEpoch > sweptEpoch ? Math.max(0, deadline - now) : Long.MAX_VALUE;
  }
}
