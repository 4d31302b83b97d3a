package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class AlarmRetentionTest {

  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

  @Test
  void closedAndOtherAlarmsHaveTheirOwnCutoffBeforeTheDatabasesNow() {
    AlarmRetention r = AlarmRetention.ofDays(3, 30);
    assertThat(r.closedCutoff(NOW)).contains(Instant.parse("2026-12-03T12:00:00Z"));
    assertThat(r.otherCutoff(NOW)).contains(Instant.parse("2026-11-06T12:00:00Z"));
    assertThat(r.purges()).isTrue();
  }

  @Test
  void zeroDaysKeepsThoseAlarmsForEver() {
    AlarmRetention closedForEver = AlarmRetention.ofDays(0, 30);
    assertThat(closedForEver.closedCutoff(NOW)).isEmpty();
    assertThat(closedForEver.otherCutoff(NOW)).isPresent();
    assertThat(AlarmRetention.ofDays(3, 0).otherCutoff(NOW)).isEmpty();
    assertThat(AlarmRetention.ofDays(0, 0).purges()).isFalse();
  }

  @Test
  void aRoundGoesOnWhileBatchesAreFullAndStopsAtItsShare() {
    AlarmRetention r = new AlarmRetention(3, 30, 10, 2);
    assertThat(r.another(1, 10)).isTrue();
    assertThat(r.another(1, 9)).isFalse();
    assertThat(r.another(2, 10)).isFalse();
  }

  @Test
  void negativeRetentionsAndEmptyBatchesAreRefused() {
    assertThatThrownBy(() -> new AlarmRetention(-1, 1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new AlarmRetention(1, -1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new AlarmRetention(1, 1, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
