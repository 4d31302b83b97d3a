package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {

  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final LoginThrottle throttle = new LoginThrottle(clock);

  @Test
  void fiveFailuresBlockTheUserForTheRestOfTheWindowInAnyCase() {
    for (int i = 0; i < 4; i++) {
      throttle.failed("Admin", "10.0.0.1");
    }
    assertThat(throttle.check("admin", "10.0.0.2")).isEmpty();
    clock.advance(Duration.ofMinutes(2));
    throttle.failed("admin", "10.0.0.1");
    var refusal = throttle.check("ADMIN", "10.0.0.9");
    assertThat(refusal).isPresent();
    assertThat(refusal.get().retryAfter()).isEqualTo(Duration.ofMinutes(3));
    assertThat(refusal.get().reason()).contains("ADMIN");
    clock.advance(Duration.ofMinutes(3));
    assertThat(throttle.check("admin", "10.0.0.1")).isEmpty();
  }

  @Test
  void successClearsTheUserButNotTheAddress() {
    for (int i = 0; i < 4; i++) {
      throttle.failed("olga", "10.0.0.1");
    }
    throttle.succeeded("olga");
    throttle.failed("olga", "10.0.0.1");
    assertThat(throttle.check("olga", "10.0.0.1")).isEmpty();
  }

  @Test
  void twentyFailuresFromOneAddressBlockEveryNameFromIt() {
    for (int i = 0; i < LoginThrottle.MAX_PER_ADDRESS; i++) {
      throttle.failed("user" + i, "10.0.0.7");
    }
    assertThat(throttle.check("someone-else", "10.0.0.7")).isPresent();
    assertThat(throttle.check("someone-else", "10.0.0.8")).isEmpty();
  }
}
