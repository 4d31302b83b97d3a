package io.vigil.server.cluster;

import java.time.Duration;

/**
 * The failover controller's clocks. The defaults aim at a crash failover in about a second through
 * the lock fast path, a hung or cut-off owner replaced within about five seconds through the lease,
 * and no false failovers when a node is merely busy (see docs/cluster.md for the reasoning).
 *
 * @param leaseDuration how long a lease lasts after the database executed a renewal (database
 *     clock)
 * @param renewInterval how often the owner renews
 * @param renewDeadline the owner stops its resources when its last successful renewal was sent
 *     longer ago than this (its own monotonic clock); shorter than the lease, so the owner is down
 *     before anyone may take over
 * @param pollInterval how often every node reads the cluster's state (standbys also probe the
 *     owner's lock)
 * @param handoverGrace how long a lease handed to a named node is reserved for it before any node
 *     may take it
 * @param failoverBackoff how long a node that gave the role up after failures leaves it to others
 * @param preferenceStep extra wait per rank for a less preferred node before taking a free lease
 */
public record ClusterTiming(
    Duration leaseDuration,
    Duration renewInterval,
    Duration renewDeadline,
    Duration pollInterval,
    Duration handoverGrace,
    Duration failoverBackoff,
    Duration preferenceStep) {

  public static final ClusterTiming DEFAULT =
      new ClusterTiming(
          Duration.ofMillis(4000),
          Duration.ofMillis(1000),
          Duration.ofMillis(2500),
          Duration.ofMillis(100),
          Duration.ofMillis(2000),
          Duration.ofMillis(5000),
          Duration.ofMillis(300));

  /**
   * How recent a node's heartbeat must be for it to count as up: a lease minus one renew interval,
   * so a node that stopped heartbeating is down before a lease it held could expire.
   */
  public Duration liveWindow() {
    return leaseDuration.minus(renewInterval);
  }

  /** Whether a heartbeat at {@code beat} is recent at database time {@code now}. */
  public boolean isLive(java.time.Instant beat, java.time.Instant now) {
    return Duration.between(beat, now).compareTo(liveWindow()) < 0;
  }

  public ClusterTiming {
    if (renewDeadline.compareTo(leaseDuration) >= 0) {
      throw new IllegalArgumentException(
          "renew deadline " + renewDeadline + " must be shorter than the lease " + leaseDuration);
    }
    if (renewInterval.compareTo(renewDeadline) >= 0) {
      throw new IllegalArgumentException(
          "renew interval "
              + renewInterval
              + " must be shorter than the renew deadline "
              + renewDeadline);
    }
  }
}
