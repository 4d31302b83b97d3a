package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.events.TimeProfile.Interval;
import io.vigil.server.http.ApiException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimeProfileTest {

  static TimeProfile.Active profile(String zone, Interval... intervals) {
    return new TimeProfile(zone, List.of(intervals)).check();
  }

  static final Interval WEEKDAY_HOURS =
      new Interval(
          List.of("monday", "tuesday", "wednesday", "thursday", "friday"), "08:00", "17:00");

  @Test
  void anIntervalIncludesItsStartAndExcludesItsEndOnItsDaysOnly() {
    TimeProfile.Active p = profile("UTC", WEEKDAY_HOURS);
    // 2026-12-07 is a Monday.
    assertThat(p.at(Instant.parse("2026-12-07T07:59:59Z"))).isFalse();
    assertThat(p.at(Instant.parse("2026-12-07T08:00:00Z"))).isTrue();
    assertThat(p.at(Instant.parse("2026-12-07T16:59:59Z"))).isTrue();
    assertThat(p.at(Instant.parse("2026-12-07T17:00:00Z"))).isFalse();
    assertThat(p.at(Instant.parse("2026-12-06T12:00:00Z"))).as("a Sunday").isFalse();
  }

  @Test
  void timesAreTheZonesWallClock() {
    TimeProfile.Active p = profile("Europe/Copenhagen", WEEKDAY_HOURS);
    // 08:00 in Copenhagen in winter (UTC+1) is 07:00 UTC.
    assertThat(p.at(Instant.parse("2026-12-07T07:00:00Z"))).isTrue();
    assertThat(p.at(Instant.parse("2026-12-07T06:59:59Z"))).isFalse();
  }

  @Test
  void theHoursFollowTheWallClockAcrossTheSpringChange() {
    Interval sunday = new Interval(List.of("sunday"), "08:00", "17:00");
    TimeProfile.Active p = profile("Europe/Copenhagen", sunday);
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST. 06:30 UTC is 08:30 CEST that day,
    // but 07:30 CET a week earlier.
    assertThat(p.at(Instant.parse("2026-03-29T06:30:00Z"))).isTrue();
    assertThat(p.at(Instant.parse("2026-03-22T06:30:00Z"))).isFalse();
    assertThat(p.at(Instant.parse("2026-03-29T15:00:00Z"))).as("17:00 CEST").isFalse();
  }

  @Test
  void theRepeatedHourOfTheAutumnChangeIsInsideBothTimes() {
    Interval night = new Interval(List.of("sunday"), "02:00", "03:00");
    TimeProfile.Active p = profile("Europe/Copenhagen", night);
    // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET, so 02:30 happens twice.
    assertThat(p.at(Instant.parse("2026-10-25T00:30:00Z"))).as("02:30 CEST").isTrue();
    assertThat(p.at(Instant.parse("2026-10-25T01:30:00Z"))).as("02:30 CET").isTrue();
    assertThat(p.at(Instant.parse("2026-10-25T02:00:00Z"))).as("03:00 CET").isFalse();
    assertThat(p.at(Instant.parse("2026-10-24T23:59:00Z"))).as("01:59 CEST").isFalse();
  }

  @Test
  void anIntervalEndingAt24EndsAtMidnight() {
    TimeProfile.Active p = profile("UTC", new Interval(List.of("monday"), "22:00", "24:00"));
    assertThat(p.at(Instant.parse("2026-12-07T23:59:59Z"))).isTrue();
    assertThat(p.at(Instant.parse("2026-12-08T00:00:00Z"))).as("Tuesday").isFalse();
  }

  @Test
  void badProfilesAreRefusedWithOneCode() {
    List<TimeProfile> bad =
        List.of(
            new TimeProfile("Mars/Olympus", List.of(WEEKDAY_HOURS)),
            new TimeProfile(null, List.of(WEEKDAY_HOURS)),
            new TimeProfile("UTC", List.of()),
            new TimeProfile("UTC", List.of(new Interval(List.of("someday"), "08:00", "17:00"))),
            new TimeProfile("UTC", List.of(new Interval(List.of(), "08:00", "17:00"))),
            new TimeProfile("UTC", List.of(new Interval(List.of("monday"), "8:00", "17:00"))),
            new TimeProfile("UTC", List.of(new Interval(List.of("monday"), "08:00", "25:00"))),
            new TimeProfile("UTC", List.of(new Interval(List.of("monday"), "17:00", "08:00"))),
            new TimeProfile("UTC", List.of(new Interval(List.of("monday"), "24:00", "24:00"))));
    for (TimeProfile p : bad) {
      assertThatThrownBy(p::check)
          .as(p.toString())
          .isInstanceOfSatisfying(
              ApiException.class,
              e -> {
                assertThat(e.code()).isEqualTo("invalid_time_profile");
                assertThat(e.getMessage()).contains("activeWhen").doesNotContain("Exception");
              });
    }
  }
}
