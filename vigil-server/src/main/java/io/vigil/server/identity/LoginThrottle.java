package io.vigil.server.identity;

import io.vigil.server.http.TrustedProxies;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Decides whether a password may be checked, before it is: a brake on online guessing that an
 * attacker cannot turn against the user.
 *
 * <ul>
 *   <li><b>Per (user, address).</b> The first {@link Policy#failuresBeforeDelay} failures of a user
 *       name from one client address cost nothing; after that, each further attempt from that pair
 *       waits {@link Policy#firstDelay} after the last failure, doubling with every failure up to
 *       {@link Policy#maxDelay}. Failures from one address never delay another.
 *   <li><b>Per address, across users</b> (password spraying): {@link Policy#failuresPerAddress}
 *       failures from one address within {@link Policy#addressWindow} refuse every user name from
 *       it for the rest of the window, except at the addresses those users signed in from before.
 *   <li><b>Per user, from new addresses</b> (guessing from many addresses): {@link
 *       Policy#failuresPerUserFromNewAddresses} failures within {@link Policy#addressWindow} from
 *       addresses the user never signed in from refuse further attempts from such addresses. A
 *       <em>known address</em> (one the user signed in from successfully, which the caller looks
 *       up) is never refused because of failures from other addresses.
 * </ul>
 *
 * <p>An attempt is <em>reserved</em> by {@link #reserve} before the password is hashed, and counts
 * against every limit until it ends with {@link #failed}, {@link #succeeded} or {@link #released}
 * (an attempt that could not be checked). So concurrent attempts cannot all pass the check before
 * the first failure is counted: of many parallel wrong passwords, no more than the limit reach the
 * password check. Once a pair is in its delays, it has at most one attempt in flight.
 *
 * <p>IPv6 addresses count per /64 prefix, the block a single host or customer usually holds, so
 * that rotating through one's own prefix buys nothing.
 *
 * <p>Deterministic: the time comes from the clock given, nothing sleeps, and every method is atomic
 * (one lock; each call is a few map operations, nothing beside a PBKDF2 hash). State lives in this
 * object only; {@code docs/identity.md} says why that suffices. The maps are bounded: above {@link
 * #PRUNE_ABOVE} entries, at most once a minute, entries with nothing left to remember are dropped.
 */
public final class LoginThrottle {

  /**
   * The limits.
   *
   * @param forgetAfter how long after its last failure a pair's failures are forgotten
   */
  public record Policy(
      int failuresBeforeDelay,
      Duration firstDelay,
      Duration maxDelay,
      int failuresPerAddress,
      int failuresPerUserFromNewAddresses,
      Duration addressWindow,
      Duration forgetAfter) {

    public static final Policy DEFAULTS =
        new Policy(
            5,
            Duration.ofSeconds(1),
            Duration.ofMinutes(15),
            20,
            20,
            Duration.ofMinutes(5),
            Duration.ofHours(1));

    public Policy {
      if (failuresBeforeDelay < 1
          || failuresPerAddress < 1
          || failuresPerUserFromNewAddresses < 1) {
        throw new IllegalArgumentException("sign-in failure limits must be at least 1");
      }
      if (firstDelay.isNegative()
          || firstDelay.isZero()
          || maxDelay.compareTo(firstDelay) < 0
          || forgetAfter.compareTo(maxDelay) < 0) {
        throw new IllegalArgumentException(
            "sign-in delays must satisfy 0 < first delay <= max delay <= forget after");
      }
    }

    /** The delay after {@code failures} failures of one pair (zero below the free failures). */
    Duration delayAfter(int failures) {
      if (failures < failuresBeforeDelay) {
        return Duration.ZERO;
      }
      int doublings = Math.min(failures - failuresBeforeDelay, 40);
      long millis = firstDelay.toMillis();
      for (int i = 0; i < doublings && millis < maxDelay.toMillis(); i++) {
        millis *= 2;
      }
      return Duration.ofMillis(Math.min(millis, maxDelay.toMillis()));
    }
  }

  /** What {@link #reserve} answers. */
  public sealed interface Decision permits Attempt, Refusal {}

  /**
   * A reserved attempt: check the password, then end it exactly once with {@link #failed}, {@link
   * #succeeded} or {@link #released}.
   */
  public static final class Attempt implements Decision {
    private final String user;
    private final String network;
    private final String address;
    private final boolean known;
    private boolean ended;

    private Attempt(String user, String network, String address, boolean known) {
      this.user = user;
      this.network = network;
      this.address = address;
      this.known = known;
    }
  }

  /** An attempt refused before any password check, and when the caller may try again. */
  public record Refusal(String reason, Duration retryAfter) implements Decision {}

  /** Which limit a lockout is of. */
  public enum Scope {
    /** This user from this address. */
    USER_AT_ADDRESS,
    /** Every user from this address, except at their known addresses. */
    ADDRESS,
    /** This user from every address it never signed in from. */
    USER_FROM_NEW_ADDRESSES
  }

  /**
   * A limit that the failure just recorded made start refusing: an event worth an audit entry, once
   * per lockout rather than once per refused attempt.
   *
   * @param failures the failures counted for that limit
   * @param retryAfter how long the limit now refuses
   */
  public record Lockout(Scope scope, String address, int failures, Duration retryAfter) {}

  /** A pair in its delays, for an operator: the address, its failures, and until when it waits. */
  public record Delayed(String address, int failures, Instant until) {}

  static final int PRUNE_ABOVE = 10_000;

  private record PairKey(String user, String network) {}

  private static final class Pair {
    int failures;
    int inFlight;
    Instant lastFailure;
    String address;
  }

  /** Failures in a window that starts at the first of them. */
  private static final class Window {
    Instant start;
    int failures;
    int inFlight;
  }

  private final Clock clock;
  private final Policy policy;
  private final Map<PairKey, Pair> pairs = new HashMap<>();
  private final Map<String, Window> addresses = new HashMap<>();
  private final Map<String, Window> users = new HashMap<>();
  private Instant lastPrune = Instant.MIN;

  public LoginThrottle(Clock clock, Policy policy) {
    this.clock = clock;
    this.policy = policy;
  }

  public Policy policy() {
    return policy;
  }

  /**
   * Reserves an attempt for {@code username} from {@code address}, or refuses it.
   *
   * @param knownAddress whether the user signed in from this address before
   */
  public synchronized Decision reserve(String username, String address, boolean knownAddress) {
    Instant now = clock.instant();
    prune(now);
    String user = userKey(username);
    String network = network(address);
    Pair pair = pairs.get(new PairKey(user, network));
    if (pair != null
        && pair.lastFailure != null
        && !now.isBefore(pair.lastFailure.plus(policy.forgetAfter()))) {
      pair.failures = 0;
      pair.lastFailure = null;
    }
    if (pair != null && pair.failures + pair.inFlight >= policy.failuresBeforeDelay()) {
      Instant until = pair.lastFailure == null ? now : pair.lastFailure.plus(delay(pair));
      if (pair.inFlight > 0 || now.isBefore(until)) {
        Duration wait = pair.inFlight > 0 ? policy.firstDelay() : Duration.between(now, until);
        return new Refusal(
            "Too many failed sign-ins for user \""
                + username
                + "\" from this address: wait "
                + seconds(wait)
                + " seconds before the next attempt. Each further failure doubles the wait, up to "
                + policy.maxDelay().toMinutes()
                + " minutes; sign-ins from other addresses are not affected.",
            wait);
      }
    }
    if (!knownAddress) {
      Window addr = live(addresses, network, now);
      if (addr != null && addr.failures + addr.inFlight >= policy.failuresPerAddress()) {
        Duration wait = remaining(addr, now);
        return new Refusal(
            "Too many failed sign-ins from address "
                + address
                + ": sign-in from this address is blocked for "
                + seconds(wait)
                + " more seconds, except for users who signed in from it before.",
            wait);
      }
      Window fromNew = live(users, user, now);
      if (fromNew != null
          && fromNew.failures + fromNew.inFlight >= policy.failuresPerUserFromNewAddresses()) {
        Duration wait = remaining(fromNew, now);
        return new Refusal(
            "Too many failed sign-ins for user \""
                + username
                + "\" from many addresses: for "
                + seconds(wait)
                + " more seconds it can sign in only from an address it signed in from before.",
            wait);
      }
    }
    pairs.computeIfAbsent(new PairKey(user, network), k -> new Pair()).inFlight++;
    addresses.computeIfAbsent(network, k -> new Window()).inFlight++;
    if (!knownAddress) {
      users.computeIfAbsent(user, k -> new Window()).inFlight++;
    }
    return new Attempt(user, network, address, knownAddress);
  }

  /**
   * Counts a wrong password (or an unknown user).
   *
   * @return the limits this failure made start refusing, to be audited
   */
  public synchronized List<Lockout> failed(Attempt attempt) {
    end(attempt);
    Instant now = clock.instant();
    List<Lockout> lockouts = new ArrayList<>();
    Pair pair = pairs.computeIfAbsent(new PairKey(attempt.user, attempt.network), k -> new Pair());
    pair.inFlight--;
    pair.failures++;
    pair.lastFailure = now;
    pair.address = attempt.address;
    if (pair.failures == policy.failuresBeforeDelay()) {
      lockouts.add(new Lockout(Scope.USER_AT_ADDRESS, attempt.address, pair.failures, delay(pair)));
    }
    Window addr = count(addresses, attempt.network, now);
    if (addr.failures == policy.failuresPerAddress()) {
      lockouts.add(
          new Lockout(Scope.ADDRESS, attempt.address, addr.failures, remaining(addr, now)));
    }
    if (!attempt.known) {
      Window fromNew = count(users, attempt.user, now);
      if (fromNew.failures == policy.failuresPerUserFromNewAddresses()) {
        lockouts.add(
            new Lockout(
                Scope.USER_FROM_NEW_ADDRESSES,
                attempt.address,
                fromNew.failures,
                remaining(fromNew, now)));
      }
    }
    return lockouts;
  }

  /**
   * The right password: the pair's failures and the user's failures from new addresses are
   * forgotten; the address's count across users stays, so one known account cannot be used to keep
   * guessing others.
   */
  public synchronized void succeeded(Attempt attempt) {
    end(attempt);
    PairKey key = new PairKey(attempt.user, attempt.network);
    Pair pair = pairs.get(key);
    if (pair != null && --pair.inFlight <= 0) {
      pairs.remove(key);
    } else if (pair != null) {
      pair.failures = 0;
      pair.lastFailure = null;
    }
    releaseWindow(addresses, attempt.network);
    if (!attempt.known) {
      users.remove(attempt.user);
    }
  }

  /** An attempt whose password was not checked (no capacity, an error): it counts for nothing. */
  public synchronized void released(Attempt attempt) {
    end(attempt);
    Pair pair = pairs.get(new PairKey(attempt.user, attempt.network));
    if (pair != null) {
      pair.inFlight--;
    }
    releaseWindow(addresses, attempt.network);
    if (!attempt.known) {
      releaseWindow(users, attempt.user);
    }
  }

  /**
   * Forgets every failure counted against {@code username}, per address and in all, so that it may
   * sign in at once from anywhere: an operator's decision after checking who failed.
   *
   * @return the delays that were in force
   */
  public synchronized List<Delayed> clear(String username) {
    List<Delayed> before = delayed(username);
    String user = userKey(username);
    pairs.keySet().removeIf(k -> k.user().equals(user));
    users.remove(user);
    return before;
  }

  /** The addresses {@code username} is delayed at now, for an operator. */
  public synchronized List<Delayed> delayed(String username) {
    Instant now = clock.instant();
    String user = userKey(username);
    List<Delayed> out = new ArrayList<>();
    pairs.forEach(
        (k, p) -> {
          if (k.user().equals(user) && p.lastFailure != null) {
            Instant until = p.lastFailure.plus(delay(p));
            if (p.failures >= policy.failuresBeforeDelay() && now.isBefore(until)) {
              out.add(new Delayed(p.address, p.failures, until));
            }
          }
        });
    return out;
  }

  private Duration delay(Pair pair) {
    return policy.delayAfter(pair.failures);
  }

  private static void end(Attempt attempt) {
    if (attempt.ended) {
      throw new IllegalStateException("a sign-in attempt was ended twice");
    }
    attempt.ended = true;
  }

  private Window live(Map<String, Window> map, String key, Instant now) {
    Window w = map.get(key);
    if (w != null && w.start != null && !now.isBefore(w.start.plus(policy.addressWindow()))) {
      w.start = null;
      w.failures = 0;
    }
    return w;
  }

  private Window count(Map<String, Window> map, String key, Instant now) {
    live(map, key, now);
    Window w = map.computeIfAbsent(key, k -> new Window());
    w.inFlight = Math.max(0, w.inFlight - 1);
    if (w.start == null) {
      w.start = now;
    }
    w.failures++;
    return w;
  }

  private static void releaseWindow(Map<String, Window> map, String key) {
    Window w = map.get(key);
    if (w != null) {
      w.inFlight = Math.max(0, w.inFlight - 1);
    }
  }

  private Duration remaining(Window w, Instant now) {
    return w.start == null
        ? Duration.ZERO
        : Duration.between(now, w.start.plus(policy.addressWindow()));
  }

  private static long seconds(Duration d) {
    return Math.max(1, (d.toMillis() + 999) / 1000);
  }

  private void prune(Instant now) {
    int size = pairs.size() + addresses.size() + users.size();
    if (size <= PRUNE_ABOVE || now.isBefore(lastPrune.plus(Duration.ofMinutes(1)))) {
      return;
    }
    lastPrune = now;
    pairs
        .values()
        .removeIf(
            p ->
                p.inFlight <= 0
                    && (p.lastFailure == null
                        || !now.isBefore(p.lastFailure.plus(policy.forgetAfter()))));
    for (Map<String, Window> map : List.of(addresses, users)) {
      map.values()
          .removeIf(
              w ->
                  w.inFlight <= 0
                      && (w.start == null || !now.isBefore(w.start.plus(policy.addressWindow()))));
    }
  }

  private static String userKey(String username) {
    return username.toLowerCase(Locale.ROOT);
  }

  /** The address an attempt counts against: the address itself, or its /64 for IPv6. */
  static String network(String address) {
    if (address == null || address.indexOf(':') < 0) {
      return address == null ? "" : address;
    }
    Optional<InetAddress> parsed = TrustedProxies.literal(address);
    if (parsed.isEmpty() || parsed.get().getAddress().length != 16) {
      return address;
    }
    byte[] prefix = Arrays.copyOf(parsed.get().getAddress(), 16);
    Arrays.fill(prefix, 8, 16, (byte) 0);
    try {
      return InetAddress.getByAddress(prefix).getHostAddress() + "/64";
    } catch (UnknownHostException e) {
      return address;
    }
  }
}
