package io.vigil.server.cluster;

import java.time.Duration;

/**
 * How the failover controller watches one resource.
 *
 * @param checkInterval time between the end of one health check and the start of the next
 * @param checkTimeout a check that has not answered by then counts as failed
 * @param restartLimit restarts in place allowed within {@code restartPeriod}; one more failure
 *     fails the role over to another node
 * @param restartPeriod the window over which restarts are counted
 * @param startTimeout a start that has not finished by then has failed
 * @param stopTimeout a stop that has not finished by then is forced (the process is killed)
 */
public record ResourcePolicy(
    Duration checkInterval,
    Duration checkTimeout,
    int restartLimit,
    Duration restartPeriod,
    Duration startTimeout,
    Duration stopTimeout) {

  /** Defaults for built-in resources: checked every 2 s, 3 restarts per 10 minutes. */
  public static final ResourcePolicy DEFAULT =
      new ResourcePolicy(
          Duration.ofSeconds(2),
          Duration.ofSeconds(2),
          3,
          Duration.ofMinutes(10),
          Duration.ofSeconds(30),
          Duration.ofSeconds(15));

  public ResourcePolicy {
    if (checkInterval.isNegative() || checkInterval.isZero()) {
      throw new IllegalArgumentException("check interval must be positive");
    }
    if (checkTimeout.isNegative() || checkTimeout.isZero()) {
      throw new IllegalArgumentException("check timeout must be positive");
    }
    if (restartLimit < 0) {
      throw new IllegalArgumentException("restart limit must not be negative");
    }
  }
}
