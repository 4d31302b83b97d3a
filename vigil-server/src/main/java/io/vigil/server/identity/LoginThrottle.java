package io.vigil.server.identity;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Limits password guessing: at most {@link #MAX_PER_USER} failed logins per user name and {@link
 * #MAX_PER_ADDRESS} per client address in a {@link #WINDOW} that starts at the first failure; once
 * a limit is reached, every login for that name or from that address is refused, even with the
 * right password, until the window ends. A successful login clears its user name's counter (not the
 * address's, so one known account cannot be used to keep guessing others).
 *
 * <p>Counters live in this node's memory only: a failover or restart clears them, and in a cluster
 * only the active node runs the identity provider, so they are not shared. This is a throttle
 * against online guessing, not an account lockout record. The maps are bounded: when they grow
 * large, entries whose window has ended are dropped.
 */
public final class LoginThrottle {

  public static final int MAX_PER_USER = 5;
  public static final int MAX_PER_ADDRESS = 20;
  public static final Duration WINDOW = Duration.ofMinutes(5);
  private static final int PRUNE_ABOVE = 10_000;

  private record Window(Instant start, int failures) {}

  /** A refusal: which limit was hit and how long until the caller may try again. */
  public record Refusal(String reason, Duration retryAfter) {}

  private final Clock clock;
  private final Map<String, Window> users = new ConcurrentHashMap<>();
  private final Map<String, Window> addresses = new ConcurrentHashMap<>();

  public LoginThrottle(Clock clock) {
    this.clock = clock;
  }

  /** Whether a login for {@code username} from {@code address} may be attempted now. */
  public Optional<Refusal> check(String username, String address) {
    Instant now = clock.instant();
    Window user = live(users, userKey(username), now);
    if (user != null && user.failures() >= MAX_PER_USER) {
      return Optional.of(
          new Refusal(
              "Too many failed sign-ins for user \""
                  + username
                  + "\": sign-in for this user is blocked for "
                  + seconds(user, now)
                  + " more seconds. Wait, then try again with the right password.",
              Duration.between(now, user.start().plus(WINDOW))));
    }
    Window addr = live(addresses, address, now);
    if (addr != null && addr.failures() >= MAX_PER_ADDRESS) {
      return Optional.of(
          new Refusal(
              "Too many failed sign-ins from address "
                  + address
                  + ": sign-in from this address is blocked for "
                  + seconds(addr, now)
                  + " more seconds.",
              Duration.between(now, addr.start().plus(WINDOW))));
    }
    return Optional.empty();
  }

  public void failed(String username, String address) {
    Instant now = clock.instant();
    count(users, userKey(username), now);
    count(addresses, address, now);
  }

  public void succeeded(String username) {
    users.remove(userKey(username));
  }

  private static String userKey(String username) {
    return username.toLowerCase(Locale.ROOT);
  }

  private static long seconds(Window w, Instant now) {
    return Math.max(1, Duration.between(now, w.start().plus(WINDOW)).toSeconds());
  }

  private static Window live(Map<String, Window> map, String key, Instant now) {
    Window w = map.get(key);
    return w == null || !now.isBefore(w.start().plus(WINDOW)) ? null : w;
  }

  private static void count(Map<String, Window> map, String key, Instant now) {
    if (map.size() > PRUNE_ABOVE) {
      map.values().removeIf(w -> !now.isBefore(w.start().plus(WINDOW)));
    }
    map.compute(
        key,
        (k, w) ->
            w == null || !now.isBefore(w.start().plus(WINDOW))
                ? new Window(now, 1)
                : new Window(w.start(), w.failures() + 1));
  }
}
