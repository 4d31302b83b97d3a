package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

  private final Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2));

  @Test
  void theBoundDoublesFromTheBaseUpToTheCap() {
    assertThat(backoff.delay(1, 0.999, null).toMillis()).isEqualTo(99);
    assertThat(backoff.delay(2, 0.999, null).toMillis()).isEqualTo(199);
    assertThat(backoff.delay(5, 0.999, null).toMillis()).isEqualTo(1598);
    assertThat(backoff.delay(6, 0.999, null)).isEqualTo(Duration.ofMillis(1998));
    assertThat(backoff.delay(60, 0.999, null)).isEqualTo(Duration.ofMillis(1998));
  }

  @Test
  void fullJitterSpreadsTheWaitButNeverBelowATenthOfTheBound() {
    assertThat(backoff.delay(6, 0.0, null)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.delay(6, 0.5, null)).isEqualTo(Duration.ofMillis(1000));
  }

  @Test
  void theServersRetryAfterIsAFloor() {
    assertThat(backoff.delay(1, 0.5, Duration.ofSeconds(1))).isEqualTo(Duration.ofSeconds(1));
    assertThat(backoff.delay(6, 0.9, Duration.ofMillis(10))).isEqualTo(Duration.ofMillis(1800));
  }
}
