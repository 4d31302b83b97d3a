package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;

class PasswordChecksTest {

  @Test
  void passwordChecksBeyondTheBoundAreRefusedWithRetryAfter() throws Exception {
    PasswordChecks checks = new PasswordChecks(new Semaphore(2, true), Duration.ZERO);
    CountDownLatch running = new CountDownLatch(2);
    CountDownLatch finish = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> a = pool.submit(() -> checks.run(() -> hold(running, finish)));
      Future<?> b = pool.submit(() -> checks.run(() -> hold(running, finish)));
      running.await();

      assertThatThrownBy(() -> checks.run(() -> true))
          .isInstanceOfSatisfying(
              PasswordChecks.Busy.class,
              busy -> assertThat(busy.retryAfter()).isEqualTo(Duration.ofSeconds(1)));

      finish.countDown();
      a.get();
      b.get();
      assertThat(checks.run(() -> true)).isTrue();
      assertThat(checks.permits().availablePermits()).isEqualTo(2);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aCheckThatThrowsFreesItsSlot() {
    PasswordChecks checks = new PasswordChecks(1, Duration.ZERO);
    assertThatThrownBy(
            () ->
                checks.run(
                    () -> {
                      throw new IllegalStateException("broken");
                    }))
        .isInstanceOf(IllegalStateException.class);
    assertThat(checks.run(() -> false)).isFalse();
  }

  private static boolean hold(CountDownLatch running, CountDownLatch finish) {
    running.countDown();
    try {
      finish.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return true;
  }
}
