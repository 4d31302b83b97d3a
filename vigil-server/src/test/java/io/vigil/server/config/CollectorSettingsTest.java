package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Collector section's system monitor settings: the calculation tick and history retention. */
class CollectorSettingsTest {

  @TempDir Path dir;

  Settings load() {
    return SettingsLoader.load(
        dir, Map.of("VIGIL_NODE_NAME", "n1"), SettingsLoader.Overrides.none());
  }

  @Test
  void theMonitorTicksEveryThirtySecondsAndKeepsNinetyDaysByDefault() {
    Settings s = load();
    assertThat(s.collector.monitorTickSeconds).isEqualTo(30);
    assertThat(s.collector.monitorHistoryDays).isEqualTo(90);
  }

  @Test
  void zeroKeepsHistoryForEver() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Collector\": {\"MonitorHistoryDays\": 0, \"MonitorTickSeconds\": 5}}");
    assertThat(load().collector.monitorHistoryDays).isZero();
    assertThat(load().collector.monitorTickSeconds).isEqualTo(5);
  }

  @Test
  void valuesOutOfRangeAreRefusedAtStart() throws Exception {
    for (String bad :
        new String[] {
          "{\"MonitorTickSeconds\": 4}",
          "{\"MonitorTickSeconds\": 601}",
          "{\"MonitorHistoryDays\": -1}"
        }) {
      Files.writeString(dir.resolve("appsettings.json"), "{\"Collector\": " + bad + "}");
      assertThatThrownBy(this::load)
          .as(bad)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("MonitorTickSeconds 5-600, MonitorHistoryDays 0-3650");
    }
  }
}
