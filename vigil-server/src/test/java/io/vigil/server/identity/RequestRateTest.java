package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RequestRateTest {

  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final RequestRate rate = new RequestRate(clock, 60);

  @Test
  void aClientBeyondItsRateIsRefusedWithRetryAfter() {
    for (int i = 0; i < 60; i++) {
      assertThat(rate.take("recorder-1", "10.0.0.1")).isEmpty();
    }
    assertThat(rate.take("recorder-1", "10.0.0.1")).hasValue(Duration.ofSeconds(1));
    clock.advance(Duration.ofMillis(999));
    assertThat(rate.take("recorder-1", "10.0.0.1")).hasValue(Duration.ofMillis(1));
    clock.advance(Duration.ofMillis(1));
    assertThat(rate.take("recorder-1", "10.0.0.1")).isEmpty();
    assertThat(rate.take("recorder-1", "10.0.0.1")).isPresent();
  }

  @Test
  void eachClientAndAddressHasItsOwnBucket() {
    for (int i = 0; i < 60; i++) {
      rate.take("vigil-cli", "10.0.0.1");
    }
    assertThat(rate.take("vigil-cli", "10.0.0.1")).isPresent();
    assertThat(rate.take("vigil-cli", "10.0.0.2")).isEmpty();
    assertThat(rate.take("recorder-1", "10.0.0.1")).isEmpty();
  }

  @Test
  void anIdleBucketRefillsToAMinutesWorthAndNoMore() {
    for (int i = 0; i < 60; i++) {
      rate.take("c", "a");
    }
    clock.advance(Duration.ofHours(1));
    int allowed = 0;
    while (rate.take("c", "a").isEmpty()) {
      allowed++;
    }
    assertThat(allowed).isEqualTo(60);
  }

  @Test
  void parallelTakesNeverGrantMoreThanTheBucketHolds() throws Exception {
    AtomicInteger granted = new AtomicInteger();
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      List<Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        runs.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 100; i++) {
                    if (rate.take("recorder-1", "10.0.0.1").isEmpty()) {
                      granted.incrementAndGet();
                    }
                  }
                }));
      }
      for (Future<?> run : runs) {
        run.get();
      }
    }
    assertThat(granted.get()).isEqualTo(60);
  }
}
