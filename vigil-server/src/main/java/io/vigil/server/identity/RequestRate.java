package io.vigil.server.identity;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A token bucket per client id and client address for the token endpoint, the sign-in form and
 * component registration: each holds up to a minute's worth of requests and refills continuously,
 * so a client may burst that many and then go on at the rate.
 *
 * <p>The bucket is per (client, address) rather than per client: the built-in public clients {@code
 * vigil-cli} and {@code vigil-console} are shared by every user, and anyone may name them, so a
 * bucket per client id alone would let one caller use up everyone's sign-ins. A confidential client
 * is a component on its own machine, for which the two are the same.
 *
 * <p>Deterministic (time from the clock given) and atomic. Full buckets are what an absent one
 * means, so above {@link #PRUNE_ABOVE} buckets, at most once a minute, full ones are dropped.
 */
public final class RequestRate {

  static final int PRUNE_ABOVE = 10_000;

  private record Key(String clientId, String address) {}

  /**
   * Tokens in units of 1/60,000 of a request, so that a refill of {@code perMinute} units per
   * millisecond is exact: a request costs {@link #REQUEST} units.
   */
  private static final class Bucket {
    long units;
    Instant at;
  }

  private static final long REQUEST = 60_000;

  private final Clock clock;
  private final int perMinute;
  private final Map<Key, Bucket> buckets = new HashMap<>();
  private Instant lastPrune = Instant.MIN;

  public RequestRate(Clock clock, int perMinute) {
    if (perMinute < 1) {
      throw new IllegalArgumentException("the request rate must be at least 1 per minute");
    }
    this.clock = clock;
    this.perMinute = perMinute;
  }

  /**
   * Takes one request from the bucket of {@code clientId} at {@code address}.
   *
   * @return empty when the request may go on; otherwise how long until the bucket holds one again
   */
  public synchronized Optional<Duration> take(String clientId, String address) {
    Instant now = clock.instant();
    prune(now);
    Bucket b =
        buckets.computeIfAbsent(
            new Key(clientId == null ? "" : clientId, address == null ? "" : address),
            k -> {
              Bucket fresh = new Bucket();
              fresh.units = capacity();
              fresh.at = now;
              return fresh;
            });
    refill(b, now);
    if (b.units >= REQUEST) {
      b.units -= REQUEST;
      return Optional.empty();
    }
    long missing = REQUEST - b.units;
    return Optional.of(Duration.ofMillis((missing + perMinute - 1) / perMinute));
  }

  private long capacity() {
    return perMinute * REQUEST;
  }

  private void refill(Bucket b, Instant now) {
    long elapsed = Math.min(60_000, Math.max(0, Duration.between(b.at, now).toMillis()));
    b.units = Math.min(capacity(), b.units + elapsed * perMinute);
    b.at = now;
  }

  private void prune(Instant now) {
    if (buckets.size() <= PRUNE_ABOVE || now.isBefore(lastPrune.plus(Duration.ofMinutes(1)))) {
      return;
    }
    lastPrune = now;
    buckets
        .values()
        .removeIf(
            b -> {
              refill(b, now);
              return b.units >= capacity();
            });
  }
}
