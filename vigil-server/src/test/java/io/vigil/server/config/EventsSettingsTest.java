package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Events section: how long events and alarms are kept. */
class EventsSettingsTest {

  @TempDir Path dir;

  Settings load() {
    return SettingsLoader.load(
        dir, Map.of("VIGIL_NODE_NAME", "n1"), SettingsLoader.Overrides.none());
  }

  @Test
  void eventsAreKeptThirtyDaysByDefault() {
    assertThat(load().events.retentionDays).isEqualTo(30);
  }

  @Test
  void zeroKeepsEventsForEverAndANullSectionKeepsTheDefault() throws Exception {
    Files.writeString(dir.resolve("appsettings.json"), "{\"Events\": {\"RetentionDays\": 0}}");
    assertThat(load().events.retentionDays).isZero();

    Files.writeString(dir.resolve("appsettings.json"), "{\"Events\": null}");
    assertThat(load().events.retentionDays).isEqualTo(30);
  }

  @Test
  void aNegativeRetentionIsRefusedAtStart() throws Exception {
    Files.writeString(dir.resolve("appsettings.json"), "{\"Events\": {\"RetentionDays\": -1}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Events.RetentionDays -1 is out of range");
  }

  @Test
  void closedAlarmsAreKeptThreeDaysAndOthersThirtyByDefaultAndZeroKeepsThemForEver()
      throws Exception {
    assertThat(load().events.closedAlarmRetentionDays).isEqualTo(3);
    assertThat(load().events.alarmRetentionDays).isEqualTo(30);
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Events\": {\"ClosedAlarmRetentionDays\": 0, \"AlarmRetentionDays\": 90}}");
    assertThat(load().events.closedAlarmRetentionDays).isZero();
    assertThat(load().events.alarmRetentionDays).isEqualTo(90);
  }

  @Test
  void aNegativeAlarmRetentionIsRefusedAtStart() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Events\": {\"ClosedAlarmRetentionDays\": -1}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Events.ClosedAlarmRetentionDays -1 is out of range");
    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Events\": {\"AlarmRetentionDays\": 36501}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Events.AlarmRetentionDays 36501 is out of range");
  }
}
