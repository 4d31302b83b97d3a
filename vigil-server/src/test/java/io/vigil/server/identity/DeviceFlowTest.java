package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DeviceFlowTest {

  final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  DeviceFlow.State started() {
    return DeviceFlow.State.start(clock.instant());
  }

  DeviceFlow.Poll poll(DeviceFlow.State s) {
    return DeviceFlow.poll(s, clock.instant());
  }

  @Test
  void aNewAuthorizationIsPendingForTenMinutesWithAFiveSecondInterval() {
    DeviceFlow.State s = started();

    assertThat(s.status()).isEqualTo(DeviceFlow.Status.PENDING);
    assertThat(s.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(10)));
    assertThat(s.interval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(poll(s)).isInstanceOf(DeviceFlow.Poll.Pending.class);
  }

  @Test
  void pollingWhilePendingAtTheIntervalStaysPending() {
    DeviceFlow.State s = started();
    for (int i = 0; i < 10; i++) {
      DeviceFlow.Poll p = poll(s);
      assertThat(p).isInstanceOf(DeviceFlow.Poll.Pending.class);
      s = p.next();
      assertThat(s.lastPolledAt()).isEqualTo(clock.instant());
      clock.advance(Duration.ofSeconds(5));
    }
    assertThat(s.interval()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void pollingFasterThanTheIntervalSlowsDownAndTheIntervalGrowsByFiveSecondsEachTime() {
    DeviceFlow.State s = poll(started()).next();
    clock.advance(Duration.ofSeconds(4));

    DeviceFlow.Poll tooSoon = poll(s);
    assertThat(tooSoon).isInstanceOf(DeviceFlow.Poll.SlowDown.class);
    assertThat(tooSoon.next().interval()).isEqualTo(Duration.ofSeconds(10));

    clock.advance(Duration.ofSeconds(9));
    DeviceFlow.Poll again = poll(tooSoon.next());
    assertThat(again).isInstanceOf(DeviceFlow.Poll.SlowDown.class);
    assertThat(again.next().interval()).isEqualTo(Duration.ofSeconds(15));

    clock.advance(Duration.ofSeconds(15));
    DeviceFlow.Poll patient = poll(again.next());
    assertThat(patient).isInstanceOf(DeviceFlow.Poll.Pending.class);
    assertThat(patient.next().interval()).isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void anApprovedAuthorizationIsRedeemedByTheNextPollOnceWhateverItsTiming() {
    DeviceFlow.State s = poll(started()).next();
    var approved = DeviceFlow.approve(s, clock.instant());
    assertThat(approved).isInstanceOf(DeviceFlow.Decision.Taken.class);
    s = ((DeviceFlow.Decision.Taken) approved).next();
    assertThat(s.status()).isEqualTo(DeviceFlow.Status.APPROVED);

    DeviceFlow.Poll redeem = poll(s);
    assertThat(redeem).isInstanceOf(DeviceFlow.Poll.Redeem.class);
    assertThat(redeem.next().status()).isEqualTo(DeviceFlow.Status.REDEEMED);

    clock.advance(Duration.ofSeconds(30));
    assertThat(poll(redeem.next())).isInstanceOf(DeviceFlow.Poll.Replayed.class);
    clock.advance(Duration.ofHours(1));
    assertThat(poll(redeem.next())).isInstanceOf(DeviceFlow.Poll.Replayed.class);
  }

  @Test
  void aDeniedAuthorizationAnswersAccessDeniedToEveryPoll() {
    DeviceFlow.State s =
        ((DeviceFlow.Decision.Taken) DeviceFlow.deny(started(), clock.instant())).next();

    assertThat(poll(s)).isInstanceOf(DeviceFlow.Poll.Denied.class);
    assertThat(poll(poll(s).next())).isInstanceOf(DeviceFlow.Poll.Denied.class);
    assertThat(DeviceFlow.approve(s, clock.instant()))
        .isInstanceOf(DeviceFlow.Decision.Refused.class);
  }

  @Test
  void aDecisionIsTakenOnce() {
    DeviceFlow.State approved =
        ((DeviceFlow.Decision.Taken) DeviceFlow.approve(started(), clock.instant())).next();

    assertThat(DeviceFlow.deny(approved, clock.instant()))
        .isInstanceOf(DeviceFlow.Decision.Refused.class);
    assertThat(DeviceFlow.approve(approved, clock.instant()))
        .isInstanceOf(DeviceFlow.Decision.Refused.class);
  }

  @Test
  void atItsExpiryAnAuthorizationCanNeitherBeDecidedNorRedeemed() {
    DeviceFlow.State s = started();
    DeviceFlow.State approved =
        ((DeviceFlow.Decision.Taken) DeviceFlow.approve(s, clock.instant())).next();
    clock.advance(Duration.ofSeconds(599));
    assertThat(poll(s)).isInstanceOf(DeviceFlow.Poll.Pending.class);

    clock.advance(Duration.ofSeconds(1));
    assertThat(poll(s)).isInstanceOf(DeviceFlow.Poll.Expired.class);
    assertThat(poll(approved)).isInstanceOf(DeviceFlow.Poll.Expired.class);
    var late = DeviceFlow.approve(s, clock.instant());
    assertThat(late).isInstanceOf(DeviceFlow.Decision.Refused.class);
    assertThat(((DeviceFlow.Decision.Refused) late).reason()).contains("expired");
  }

  @Test
  void userCodesAreEightLettersOfTheAlphabetShownInTwoGroups() {
    Random random = new Random(42);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String code = DeviceFlow.newUserCode(random);
      assertThat(code).hasSize(8).matches("[BCDFGHJKLMNPQRSTVWXZ]{8}");
      seen.add(code);
    }
    assertThat(seen).hasSize(1000);
    assertThat(DeviceFlow.ALPHABET.chars().distinct().count()).isEqualTo(20);
    assertThat(DeviceFlow.display("BCDFGHJK")).isEqualTo("BCDF-GHJK");
  }

  @Test
  void typedCodesIgnoreCaseDashesAndSpacesButNothingElse() {
    assertThat(DeviceFlow.normalize("bcdf-ghjk")).contains("BCDFGHJK");
    assertThat(DeviceFlow.normalize(" BCDF GHJK ")).contains("BCDFGHJK");
    assertThat(DeviceFlow.normalize("BCDFGHJ")).isEmpty();
    assertThat(DeviceFlow.normalize("BCDFGHJKL")).isEmpty();
    assertThat(DeviceFlow.normalize("BCDF-GHJA")).isEmpty();
    assertThat(DeviceFlow.normalize("BCDF'GHJK")).isEmpty();
    assertThat(DeviceFlow.normalize(null)).isEmpty();
  }

  @Test
  void wrongUserCodesAreLimitedPerAddressForAWindow() {
    UserCodeGuesses guesses = new UserCodeGuesses(clock);
    for (int i = 0; i < UserCodeGuesses.LIMIT; i++) {
      assertThat(guesses.refusal("192.0.2.1")).isEmpty();
      guesses.failed("192.0.2.1");
      clock.advance(Duration.ofSeconds(1));
    }
    assertThat(guesses.refusal("192.0.2.1")).contains(Duration.ofMinutes(15).minusSeconds(10));
    assertThat(guesses.refusal("192.0.2.2")).isEmpty();
    // One customer's /64 is one address.
    for (int i = 0; i < UserCodeGuesses.LIMIT; i++) {
      guesses.failed("2001:db8:1:2::" + (i + 1));
    }
    assertThat(guesses.refusal("2001:db8:1:2::ffff")).isPresent();
    assertThat(guesses.refusal("2001:db8:1:3::1")).isEmpty();

    clock.advance(Duration.ofMinutes(15).minusSeconds(10));
    assertThat(guesses.refusal("192.0.2.1")).isEmpty();
    guesses.failed("192.0.2.1");
    assertThat(guesses.refusal("192.0.2.1")).isPresent();
  }
}
