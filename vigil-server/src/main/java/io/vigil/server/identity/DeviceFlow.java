package io.vigil.server.identity;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The decisions of the device authorization grant (RFC 8628), as a pure state machine: a device
 * authorization is {@link Status#PENDING} until the user approves or denies it at the device page,
 * and an approved one becomes {@link Status#REDEEMED} when the device's poll collects its tokens.
 * Every method takes the state and the time and returns what to do and the next state; storing it
 * and the clock (the database's) are the caller's.
 *
 * <p>Polling while pending faster than the interval answers {@code slow_down} and adds {@link
 * #SLOW_DOWN_STEP} to the interval (RFC 8628 3.5); the poll still counts as the last one, so a
 * client that keeps hammering keeps slowing itself down. Once the user has decided, a poll is
 * answered at once whatever its timing: there is nothing left to wait for. Everything but a
 * redeemed authorization expires at {@code expiresAt}: an approval the device did not collect in
 * time is lost, and the user signs in again.
 */
final class DeviceFlow {

  /** How long a device code and its user code are valid. */
  static final Duration LIFETIME = Duration.ofMinutes(10);

  /** The polling interval a device is given at first. */
  static final Duration INTERVAL = Duration.ofSeconds(5);

  /** What a {@code slow_down} adds to the interval. */
  static final Duration SLOW_DOWN_STEP = Duration.ofSeconds(5);

  /**
   * The user code alphabet: 20 consonants without vowels (no words) and without look-alikes, as RFC
   * 8628 6.1 suggests. Eight of them give 20^8 ≈ 2^34.6 codes.
   */
  static final String ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

  static final int USER_CODE_LENGTH = 8;

  enum Status {
    PENDING,
    APPROVED,
    DENIED,
    REDEEMED;

    String stored() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Status ofStored(String value) {
      return valueOf(value.toUpperCase(Locale.ROOT));
    }
  }

  /**
   * A device authorization's state.
   *
   * @param lastPolledAt null before the first poll
   */
  record State(Status status, Instant expiresAt, Duration interval, Instant lastPolledAt) {

    /** A new authorization created at {@code now}. */
    static State start(Instant now) {
      return new State(Status.PENDING, now.plus(LIFETIME), INTERVAL, null);
    }

    boolean expiredAt(Instant now) {
      return !now.isBefore(expiresAt);
    }

    private State with(Status s) {
      return new State(s, expiresAt, interval, lastPolledAt);
    }

    private State polled(Instant now, Duration newInterval) {
      return new State(status, expiresAt, newInterval, now);
    }
  }

  /** The answer to a poll of the token endpoint, and the state to store. */
  sealed interface Poll {
    State next();

    /** {@code authorization_pending}: the user has not decided yet. */
    record Pending(State next) implements Poll {}

    /** {@code slow_down}: polled faster than the interval, which grew. */
    record SlowDown(State next) implements Poll {}

    /** {@code access_denied}: the user denied it. */
    record Denied(State next) implements Poll {}

    /** {@code expired_token}: the device code expired before it was redeemed. */
    record Expired(State next) implements Poll {}

    /** Issue the tokens: the user approved, and this poll redeems the code. */
    record Redeem(State next) implements Poll {}

    /**
     * The code was redeemed before: it may have been intercepted, so the caller revokes the session
     * it started, as for a replayed authorization code.
     */
    record Replayed(State next) implements Poll {}
  }

  /** The user's decision at the device page, or why it cannot be taken. */
  sealed interface Decision {
    record Taken(State next) implements Decision {}

    record Refused(String reason) implements Decision {}
  }

  private DeviceFlow() {}

  static Poll poll(State s, Instant now) {
    if (s.status() == Status.REDEEMED) {
      return new Poll.Replayed(s);
    }
    if (s.expiredAt(now)) {
      return new Poll.Expired(s);
    }
    return switch (s.status()) {
      case DENIED -> new Poll.Denied(s.polled(now, s.interval()));
      case APPROVED -> new Poll.Redeem(s.with(Status.REDEEMED).polled(now, s.interval()));
      default -> {
        if (s.lastPolledAt() != null && now.isBefore(s.lastPolledAt().plus(s.interval()))) {
          yield new Poll.SlowDown(s.polled(now, s.interval().plus(SLOW_DOWN_STEP)));
        }
        yield new Poll.Pending(s.polled(now, s.interval()));
      }
    };
  }

  static Decision approve(State s, Instant now) {
    return decide(s, now, Status.APPROVED);
  }

  static Decision deny(State s, Instant now) {
    return decide(s, now, Status.DENIED);
  }

  private static Decision decide(State s, Instant now, Status decision) {
    if (s.status() != Status.PENDING) {
      return new Decision.Refused(
          "This code was already "
              + (s.status() == Status.DENIED ? "denied" : "approved")
              + "; start the sign-in on your device again if you need another.");
    }
    if (s.expiredAt(now)) {
      return new Decision.Refused(
          "This code has expired (codes are valid for "
              + LIFETIME.toMinutes()
              + " minutes); start the sign-in on your device again.");
    }
    return new Decision.Taken(s.with(decision));
  }

  /** A new user code of {@link #USER_CODE_LENGTH} letters of {@link #ALPHABET}, without dash. */
  static String newUserCode(RandomGenerator random) {
    StringBuilder code = new StringBuilder(USER_CODE_LENGTH);
    for (int i = 0; i < USER_CODE_LENGTH; i++) {
      code.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return code.toString();
  }

  /** A user code as people read it: {@code XXXX-XXXX}. */
  static String display(String userCode) {
    return userCode.substring(0, 4) + "-" + userCode.substring(4);
  }

  /**
   * What a person typed, as a user code: case, dashes and spaces ignored (RFC 8628 6.1). Empty when
   * it cannot be one, so that a typo never costs a database look-up.
   */
  static Optional<String> normalize(String typed) {
    if (typed == null) {
      return Optional.empty();
    }
    StringBuilder code = new StringBuilder();
    for (int i = 0; i < typed.length(); i++) {
      char c = typed.charAt(i);
      if (c == '-' || Character.isWhitespace(c)) {
        continue;
      }
      char upper = Character.toUpperCase(c);
      if (ALPHABET.indexOf(upper) < 0 || code.length() == USER_CODE_LENGTH) {
        return Optional.empty();
      }
      code.append(upper);
    }
    return code.length() == USER_CODE_LENGTH ? Optional.of(code.toString()) : Optional.empty();
  }
}
