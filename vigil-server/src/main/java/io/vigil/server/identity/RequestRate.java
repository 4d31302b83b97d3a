package io.vigil.server.identity;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

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
 * <p>Deterministic (time from the clock given) and atomic without a lock: each bucket is an
 * immutable value replaced by compare-and-set, so a request thread that loses the processor in the
 * middle holds no other request up (a {@code synchronized} take did, under load: the profile in
 * docs/performance.md). Full buckets are what an absent one means, so above {@link #PRUNE_ABOVE}
 * buckets, at most once a minute, full ones are dropped.
 */
public final class RequestRate {

  static final int PRUNE_ABOVE = 10_000;

  private record Key(String clientId, String address) {}

  /**
   * Tokens in units of 1/60,000 of a request, so that a refill of {@code perMinute} units per
   * millisecond is exact: a request costs {@link #REQUEST} units; {@code at} is when it was last
   * refilled.
   */
  private record Bucket(long units, Instant at) {}

  private static final long REQUEST = 60_000;

  private final Clock clock;
  private final int perMinute;
  private final ConcurrentHashMap<Key, AtomicReference<Bucket>> buckets = new ConcurrentHashMap<>();
  private final AtomicReference<Instant> lastPrune = new AtomicReference<>(Instant.MIN);

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
  public Optional<Duration> take(String clientId, String address) {
    Instant now = clock.instant();
    prune(now);
    AtomicReference<Bucket> ref =
        buckets.computeIfAbsent(
            new Key(clientId == null ? "" : clientId, address == null ? "" : address),
            k -> new AtomicReference<>(new Bucket(capacity(), now)));
    while (true) {
      Bucket b = ref.get();
      Bucket refilled = refill(b, now);
      if (refilled.units() >= REQUEST) {
        if (ref.compareAndSet(b, new Bucket(refilled.units() - REQUEST, refilled.at()))) {
          return Optional.empty();
        }
      } else if (ref.compareAndSet(b, refilled)) {
        long missing = REQUEST - refilled.units();
        return Optional.of(Duration.ofMillis((missing + perMinute - 1) / perMinute));
      }
    }
  }

  private long capacity() {
    return perMinute * REQUEST;
  }

  /**
   * The bucket refilled up to {@code now}; a thread that read the clock before another one's update
   * leaves the later time in place, so no interval is counted twice.
   */
  private Bucket refill(Bucket b, Instant now) {
    if (!now.isAfter(b.at())) {
      return b;
    }
    long elapsed = Math.min(60_000, Duration.between(b.at(), now).toMillis());
    return new Bucket(Math.min(capacity(), b.units() + elapsed * perMinute), now);
  }

  private void prune(Instant now) {
    Instant last = lastPrune.get();
    if (buckets.size() <= PRUNE_ABOVE
        || now.isBefore(last.plus(Duration.ofMinutes(1)))
        || !lastPrune.compareAndSet(last, now)) {
      return;
    }
    buckets.values().removeIf(ref -> refill(ref.get(), now).units() >= capacity());
  }
}
