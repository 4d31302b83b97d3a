package io.vigil.server.identity;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Limits wrong user codes entered at the device page per client address (IPv6: per /64, as {@link
 * LoginThrottle#network}): at most {@link #LIMIT} in any {@link #WINDOW}, after which the address
 * is refused until the oldest counted failure leaves the window. With 20^8 codes, of which only the
 * few started in the last ten minutes are live, that keeps guessing any live code from one address
 * to odds of about one in a billion a day.
 *
 * <p>Deterministic (time from the clock given) and in the active node's memory, like the sign-in
 * throttle and for the same reasons: one node serves {@code /idp}, and a failover gives an attacker
 * one fresh allowance at a moment it cannot choose.
 */
final class UserCodeGuesses {

  static final int LIMIT = 10;
  static final Duration WINDOW = Duration.ofMinutes(15);
  static final int PRUNE_ABOVE = 10_000;

  private final Clock clock;
  private final Map<String, Deque<Instant>> failures = new HashMap<>();

  UserCodeGuesses(Clock clock) {
    this.clock = clock;
  }

  /**
   * Whether {@code address} may enter a user code now.
   *
   * @return empty when it may; otherwise how long it must wait
   */
  synchronized Optional<Duration> refusal(String address) {
    Instant now = clock.instant();
    Deque<Instant> seen = recent(LoginThrottle.network(address), now);
    if (seen == null || seen.size() < LIMIT) {
      return Optional.empty();
    }
    return Optional.of(Duration.between(now, seen.peekFirst().plus(WINDOW)));
  }

  /** Counts a wrong user code from {@code address}. */
  synchronized void failed(String address) {
    Instant now = clock.instant();
    if (failures.size() > PRUNE_ABOVE) {
      failures.values().removeIf(seen -> !now.isBefore(seen.peekLast().plus(WINDOW)));
    }
    failures.computeIfAbsent(LoginThrottle.network(address), k -> new ArrayDeque<>()).addLast(now);
  }

  /** The failures of {@code key} inside the window, or null when there are none. */
  private Deque<Instant> recent(String key, Instant now) {
    Deque<Instant> seen = failures.get(key);
    if (seen == null) {
      return null;
    }
    while (!seen.isEmpty() && !now.isBefore(seen.peekFirst().plus(WINDOW))) {
      seen.removeFirst();
    }
    if (seen.isEmpty()) {
      failures.remove(key);
      return null;
    }
    return seen;
  }
}
