package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.identity.LoginThrottle.Attempt;
import io.vigil.server.identity.LoginThrottle.Decision;
import io.vigil.server.identity.LoginThrottle.Lockout;
import io.vigil.server.identity.LoginThrottle.Policy;
import io.vigil.server.identity.LoginThrottle.Refusal;
import io.vigil.server.identity.LoginThrottle.Scope;
import io.vigil.server.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {

  private static final Policy POLICY = Policy.DEFAULTS;
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final LoginThrottle throttle = new LoginThrottle(clock, POLICY);

  private Attempt attempt(String user, String address) {
    return attempt(user, address, false);
  }

  private Attempt attempt(String user, String address, boolean known) {
    Decision d = throttle.reserve(user, address, known);
    assertThat(d).as("attempt for %s from %s", user, address).isInstanceOf(Attempt.class);
    return (Attempt) d;
  }

  private List<Lockout> fail(String user, String address) {
    return throttle.failed(attempt(user, address));
  }

  @Test
  void delaysGrowWithEachFailureFromTheSameAddress() {
    for (int i = 0; i < POLICY.failuresBeforeDelay(); i++) {
      fail("Admin", "10.0.0.1");
    }
    List<Duration> waits = new ArrayList<>();
    for (int i = 0; i < 14; i++) {
      Refusal r = (Refusal) throttle.reserve("ADMIN", "10.0.0.1", false);
      waits.add(r.retryAfter());
      assertThat(r.reason()).contains("ADMIN").doesNotContain("Exception");
      clock.advance(r.retryAfter().minusMillis(1));
      assertThat(throttle.reserve("admin", "10.0.0.1", false)).isInstanceOf(Refusal.class);
      clock.advance(Duration.ofMillis(1));
      fail("admin", "10.0.0.1");
    }
    assertThat(waits.subList(0, 5))
        .containsExactly(
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4),
            Duration.ofSeconds(8),
            Duration.ofSeconds(16));
    assertThat(waits.get(waits.size() - 1)).isEqualTo(POLICY.maxDelay());
  }

  @Test
  void failuresFromOneAddressDoNotDelayAnother() {
    for (int i = 0; i < 10; i++) {
      clock.advance(Duration.ofMinutes(1));
      Decision d = throttle.reserve("admin", "10.0.0.1", false);
      if (d instanceof Attempt a) {
        throttle.failed(a);
      }
    }
    assertThat(throttle.reserve("admin", "10.0.0.1", false)).isInstanceOf(Refusal.class);
    assertThat(throttle.reserve("admin", "10.0.0.2", false)).isInstanceOf(Attempt.class);
  }

  @Test
  void aLockedOutAttackerDoesNotLockOutTheUserFromAKnownAddress() {
    // Guesses from many addresses close the new-address door, and a spray closes the address...
    for (int i = 0; i < POLICY.failuresPerUserFromNewAddresses(); i++) {
      fail("admin", "198.51.100." + i);
    }
    for (int i = 0; i < POLICY.failuresPerAddress(); i++) {
      fail("user" + i, "192.0.2.9");
    }
    assertThat(throttle.reserve("admin", "192.0.2.1", false)).isInstanceOf(Refusal.class);
    assertThat(throttle.reserve("someone", "192.0.2.9", false)).isInstanceOf(Refusal.class);
    // ...but never for the address the user signed in from before.
    throttle.succeeded(attempt("admin", "192.0.2.9", true));
    throttle.succeeded(attempt("admin", "203.0.113.8", true));
  }

  @Test
  void successForgetsThePairsFailuresButNotTheAddresss() {
    for (int i = 0; i < POLICY.failuresBeforeDelay() - 1; i++) {
      fail("olga", "10.0.0.1");
    }
    throttle.succeeded(attempt("olga", "10.0.0.1"));
    for (int i = 0; i < POLICY.failuresBeforeDelay() - 1; i++) {
      fail("olga", "10.0.0.1");
    }
    assertThat(throttle.reserve("olga", "10.0.0.1", false)).isInstanceOf(Attempt.class);
  }

  @Test
  void failuresFromOneAddressAcrossUsersBlockNewUsersFromIt() {
    for (int i = 0; i < POLICY.failuresPerAddress(); i++) {
      fail("user" + i, "10.0.0.7");
    }
    assertThat(throttle.reserve("someone-else", "10.0.0.7", false)).isInstanceOf(Refusal.class);
    assertThat(throttle.reserve("someone-else", "10.0.0.8", false)).isInstanceOf(Attempt.class);
    clock.advance(POLICY.addressWindow());
    assertThat(throttle.reserve("someone-else", "10.0.0.7", false)).isInstanceOf(Attempt.class);
  }

  @Test
  void anIpv6ClientCountsPerSlash64() {
    for (int i = 0; i < POLICY.failuresBeforeDelay(); i++) {
      fail("admin", "2001:db8:1:2::" + Integer.toHexString(i + 1));
    }
    assertThat(throttle.reserve("admin", "2001:db8:1:2:ffff::1", false))
        .isInstanceOf(Refusal.class);
    assertThat(throttle.reserve("admin", "2001:db8:1:3::1", false)).isInstanceOf(Attempt.class);
  }

  @Test
  void theFailureThatStartsALockoutSaysSoOnce() {
    List<Lockout> all = new ArrayList<>();
    for (int i = 0; i < POLICY.failuresBeforeDelay() + 3; i++) {
      clock.advance(Duration.ofMinutes(1));
      all.addAll(fail("admin", "10.0.0.1"));
    }
    assertThat(all)
        .containsExactly(
            new Lockout(
                Scope.USER_AT_ADDRESS,
                "10.0.0.1",
                POLICY.failuresBeforeDelay(),
                POLICY.firstDelay()));
    assertThat(throttle.delayed("ADMIN")).hasSize(1);
    assertThat(throttle.delayed("ADMIN").get(0).address()).isEqualTo("10.0.0.1");
  }

  @Test
  void aReleasedAttemptCountsForNothing() {
    for (int i = 0; i < 50; i++) {
      throttle.released(attempt("admin", "10.0.0.1"));
    }
    for (int i = 0; i < POLICY.failuresBeforeDelay(); i++) {
      fail("admin", "10.0.0.1");
    }
    assertThat(throttle.reserve("admin", "10.0.0.1", false)).isInstanceOf(Refusal.class);
  }

  @Test
  void failuresAreForgottenAfterAQuietPeriod() {
    for (int i = 0; i < POLICY.failuresBeforeDelay() + 2; i++) {
      clock.advance(Duration.ofMinutes(1));
      fail("admin", "10.0.0.1");
    }
    clock.advance(POLICY.forgetAfter());
    for (int i = 0; i < POLICY.failuresBeforeDelay(); i++) {
      fail("admin", "10.0.0.1");
    }
  }

  @Test
  void parallelWrongPasswordsCannotExceedTheReservedAttempts() throws Exception {
    int threads = 32;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      // Every reserved attempt stays open until all threads have asked, as slow password checks
      // would.
      CountDownLatch allAsked = new CountDownLatch(threads);
      List<Callable<Boolean>> tasks = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        tasks.add(
            () -> {
              start.await();
              Decision d = throttle.reserve("admin", "10.0.0.1", false);
              allAsked.countDown();
              allAsked.await();
              if (d instanceof Attempt a) {
                throttle.failed(a);
                return true;
              }
              return false;
            });
      }
      List<Future<Boolean>> results = new ArrayList<>();
      for (Callable<Boolean> task : tasks) {
        results.add(pool.submit(task));
      }
      start.countDown();
      int checked = 0;
      for (Future<Boolean> r : results) {
        checked += r.get() ? 1 : 0;
      }
      assertThat(checked).isEqualTo(POLICY.failuresBeforeDelay());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void delaysAreCappedAndPositive() {
    assertThat(POLICY.delayAfter(POLICY.failuresBeforeDelay() - 1)).isZero();
    assertThat(POLICY.delayAfter(1000)).isEqualTo(POLICY.maxDelay());
  }
}
