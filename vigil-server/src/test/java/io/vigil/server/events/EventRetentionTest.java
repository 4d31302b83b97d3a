package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class EventRetentionTest {

  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

  @Test
  void theCutoffIsTheRetentionBeforeTheDatabasesNow() {
    assertThat(EventRetention.ofDays(30).cutoff(NOW))
        .contains(Instant.parse("2026-11-06T12:00:00Z"));
  }

  @Test
  void zeroDaysKeepsEventsForEver() {
    assertThat(EventRetention.ofDays(0).cutoff(NOW)).isEmpty();
  }

  @Test
  void aRoundGoesOnWhileBatchesAreFullAndStopsAtItsShare() {
    EventRetention r = new EventRetention(30, 1000, 3);
    assertThat(r.another(1, 1000)).isTrue();
    assertThat(r.another(1, 999)).isFalse();
    assertThat(r.another(2, 1000)).isTrue();
    assertThat(r.another(3, 1000)).isFalse();
  }

  @Test
  void negativeRetentionsAndEmptyBatchesAreRefused() {
    assertThatThrownBy(() -> new EventRetention(-1, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new EventRetention(1, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
