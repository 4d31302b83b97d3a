package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.events.AlarmRules.Close;
import io.vigil.server.events.AlarmRules.Count;
import io.vigil.server.events.AlarmRules.Definition;
import io.vigil.server.events.AlarmRules.OpenAlarm;
import io.vigil.server.events.AlarmRules.Raise;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class AlarmRulesTest {

  static final Instant T0 = Instant.parse("2026-12-06T21:00:00Z");
  static final UUID D = UUID.fromString("00000000-0000-0000-0000-00000000000d");
  static final Definition MOTION =
      new Definition(D, Set.of("camera.motion"), Set.of(), 60, Set.of("camera.motion_ended"));

  @Test
  void anEventOfATriggeringTypeRaisesAnAlarmAndOthersNothing() {
    assertThat(AlarmRules.decide("camera.motion", "cam-1", T0, List.of(MOTION), List.of()))
        .containsExactly(new Raise(D));
    assertThat(AlarmRules.decide("door.forced", "cam-1", T0, List.of(MOTION), List.of())).isEmpty();
  }

  @Test
  void sourcesRestrictTheDefinitionWhenGiven() {
    Definition only = new Definition(D, Set.of("camera.motion"), Set.of("cam-1"), 0, Set.of());
    assertThat(AlarmRules.decide("camera.motion", "cam-1", T0, List.of(only), List.of()))
        .containsExactly(new Raise(D));
    assertThat(AlarmRules.decide("camera.motion", "cam-2", T0, List.of(only), List.of())).isEmpty();
  }

  @Test
  void withinTheReactivationWindowTheEventIsCountedOnTheOpenAlarm() {
    OpenAlarm open = new OpenAlarm(7, D, "cam-1", T0);
    assertThat(
            AlarmRules.decide(
                "camera.motion", "cam-1", T0.plusSeconds(59), List.of(MOTION), List.of(open)))
        .containsExactly(new Count(7));
    assertThat(
            AlarmRules.decide(
                "camera.motion", "cam-1", T0.plusSeconds(60), List.of(MOTION), List.of(open)))
        .containsExactly(new Raise(D));
    assertThat(
            AlarmRules.decide(
                "camera.motion", "cam-2", T0.plusSeconds(1), List.of(MOTION), List.of(open)))
        .containsExactly(new Raise(D));
  }

  @Test
  void withoutAReactivationThresholdEveryEventRaisesAnAlarm() {
    Definition every = new Definition(D, Set.of("camera.motion"), Set.of(), 0, Set.of());
    OpenAlarm open = new OpenAlarm(7, D, "cam-1", T0);
    assertThat(AlarmRules.decide("camera.motion", "cam-1", T0, List.of(every), List.of(open)))
        .containsExactly(new Raise(D));
  }

  @Test
  void theNewestOpenAlarmWithinTheWindowIsCounted() {
    List<OpenAlarm> open =
        List.of(new OpenAlarm(3, D, "cam-1", T0), new OpenAlarm(9, D, "cam-1", T0));
    assertThat(
            AlarmRules.decide("camera.motion", "cam-1", T0.plusSeconds(1), List.of(MOTION), open))
        .containsExactly(new Count(9));
  }

  @Test
  void aCloseOnEventClosesTheDefinitionsOpenAlarmsForThatSourceOnly() {
    UUID other = UUID.randomUUID();
    List<OpenAlarm> open =
        List.of(
            new OpenAlarm(1, D, "cam-1", T0),
            new OpenAlarm(2, D, "cam-2", T0),
            new OpenAlarm(3, other, "cam-1", T0));
    assertThat(AlarmRules.decide("camera.motion_ended", "cam-1", T0, List.of(MOTION), open))
        .containsExactly(new Close(1));
  }

  @Test
  void anEventThatBothClosesAndTriggersClosesFirstThenRaises() {
    Definition both =
        new Definition(D, Set.of("camera.motion"), Set.of(), 60, Set.of("camera.motion"));
    assertThat(
            AlarmRules.decide(
                "camera.motion",
                "cam-1",
                T0,
                List.of(both),
                List.of(new OpenAlarm(1, D, "cam-1", T0))))
        .containsExactly(new Close(1), new Raise(D));
  }

  @Test
  void theLifecycleMovesForwardAndBackToNewOnly() {
    assertThat(AlarmState.NEW.canChangeTo(AlarmState.IN_PROGRESS)).isTrue();
    assertThat(AlarmState.IN_PROGRESS.canChangeTo(AlarmState.ON_HOLD)).isTrue();
    assertThat(AlarmState.ON_HOLD.canChangeTo(AlarmState.CLOSED)).isTrue();
    assertThat(AlarmState.NEW.canChangeTo(AlarmState.CLOSED)).isTrue();
    assertThat(AlarmState.CLOSED.canChangeTo(AlarmState.NEW)).isTrue();
    assertThat(AlarmState.ON_HOLD.canChangeTo(AlarmState.NEW)).isTrue();
    assertThat(AlarmState.CLOSED.canChangeTo(AlarmState.IN_PROGRESS)).isFalse();
    assertThat(AlarmState.ON_HOLD.canChangeTo(AlarmState.IN_PROGRESS)).isFalse();
    assertThat(AlarmState.NEW.canChangeTo(AlarmState.NEW)).isFalse();
  }

  @Test
  void anAlarmIsDueForActionItsDefinitionsLimitAfterItWasRaised() {
    assertThat(AlarmRules.actionDueAt(T0, 300)).contains(T0.plusSeconds(300));
    assertThat(AlarmRules.actionDueAt(T0, null)).isEmpty();
  }

  @Test
  void aNewAlarmEscalatesOnceItsActionIsDueAndNotBefore() {
    Instant due = AlarmRules.actionDueAt(T0, 300).orElseThrow();
    assertThat(AlarmRules.escalates("new", due, T0.plusSeconds(299))).isFalse();
    assertThat(AlarmRules.escalates("new", due, T0.plusSeconds(300))).isTrue();
    assertThat(AlarmRules.escalates("new", due, T0.plusSeconds(3600))).isTrue();
  }

  @Test
  void anAlarmAnOperatorHandledOrWithoutALimitNeverEscalates() {
    Instant due = T0.plusSeconds(300);
    Instant later = T0.plusSeconds(3600);
    assertThat(AlarmRules.escalates("in_progress", due, later)).isFalse();
    assertThat(AlarmRules.escalates("on_hold", due, later)).isFalse();
    assertThat(AlarmRules.escalates("closed", due, later)).isFalse();
    assertThat(AlarmRules.escalates("new", null, later)).isFalse();
  }

  @Test
  void outsideItsTimeProfileADefinitionNeitherRaisesNorCountsButStillCloses() {
    Definition inactive =
        new Definition(
            D, Set.of("camera.motion"), Set.of(), 60, Set.of("camera.motion_ended"), false);
    OpenAlarm open = new OpenAlarm(7, D, "cam-1", T0);
    assertThat(AlarmRules.decide("camera.motion", "cam-1", T0, List.of(inactive), List.of()))
        .isEmpty();
    assertThat(AlarmRules.decide("camera.motion", "cam-1", T0, List.of(inactive), List.of(open)))
        .isEmpty();
    assertThat(
            AlarmRules.decide("camera.motion_ended", "cam-1", T0, List.of(inactive), List.of(open)))
        .containsExactly(new Close(7));
  }
}
