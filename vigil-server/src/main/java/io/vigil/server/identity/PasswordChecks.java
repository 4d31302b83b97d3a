package io.vigil.server.identity;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Bounds the password checks that run at once. Each check is a 600,000-iteration PBKDF2 hash, tens
 * to hundreds of milliseconds of one processor, asked for by anyone who can reach the sign-in page;
 * unbounded, a burst of sign-ins takes every processor from the API and the failover controller.
 *
 * <p>At most {@code atOnce} checks run; a further one waits up to {@code wait} for a free one and
 * is then refused with {@link Busy}, which the endpoints answer 503 with {@code Retry-After}.
 * Waiting is in the semaphore's fair queue, so sign-ins are served in arrival order; a refused
 * sign-in has not had its password checked and is not counted as a failure.
 */
final class PasswordChecks {

  /** No password check was free within the wait. */
  static final class Busy extends RuntimeException {
    private final Duration retryAfter;

    Busy(Duration retryAfter) {
      super(null, null, false, false);
      this.retryAfter = retryAfter;
    }

    Duration retryAfter() {
      return retryAfter;
    }
  }

  private final Semaphore permits;
  private final Duration wait;

  PasswordChecks(int atOnce, Duration wait) {
    this(new Semaphore(atOnce, true), wait);
  }

  /** Checks bounded by {@code permits}, which tests may hold to fill every slot. */
  PasswordChecks(Semaphore permits, Duration wait) {
    this.permits = permits;
    this.wait = wait;
  }

  /**
   * Runs {@code check} once a slot is free.
   *
   * @throws Busy when none was free within the wait (or the thread was interrupted waiting)
   */
  boolean run(BooleanSupplier check) {
    boolean acquired;
    try {
      acquired = permits.tryAcquire(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      acquired = false;
    }
    if (!acquired) {
      throw new Busy(Duration.ofSeconds(Math.max(1, wait.toSeconds())));
    }
    try {
      return check.getAsBoolean();
    } finally {
      permits.release();
    }
  }

  Semaphore permits() {
    return permits;
  }
}
