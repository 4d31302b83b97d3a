package io.vigil.server.cluster;

import java.time.Duration;
import java.util.List;

/**
 * Placement and failover limits of the role.
 *
 * @param failoverLimit failovers allowed within {@code failoverPeriod}; the next failure marks the
 *     role failed, leaves its resources stopped and waits for an operator
 * @param preferredOwners node names in order of preference; nodes not listed come after them
 * @param failback whether the role moves back to a more preferred node that comes back
 * @param failbackDelay how long that node must have been up before the role moves back
 */
public record RolePolicy(
    int failoverLimit,
    Duration failoverPeriod,
    List<String> preferredOwners,
    boolean failback,
    Duration failbackDelay) {

  public static final RolePolicy DEFAULT =
      new RolePolicy(3, Duration.ofMinutes(15), List.of(), false, Duration.ofSeconds(60));

  public RolePolicy {
    preferredOwners = List.copyOf(preferredOwners);
  }

  /** Position of {@code node} in the preference order: listed nodes first, others after. */
  public int rank(String node) {
    int i = preferredOwners.indexOf(node);
    return i < 0 ? preferredOwners.size() : i;
  }
}
