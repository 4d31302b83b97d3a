package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Database section: a URL that can reach a standby instead of the primary is refused. */
class DatabaseSettingsTest {

  @TempDir Path dir;

  Settings load(String url) {
    return SettingsLoader.load(
        dir, Map.of("VIGIL_NODE_NAME", "n1", "VIGIL_DB_URL", url), SettingsLoader.Overrides.none());
  }

  @Test
  void aUrlWithSeveralHostsMustAskForThePrimary() {
    assertThatThrownBy(() -> load("jdbc:postgresql://db1:5432,db2:5432/vigil"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("targetServerType=primary")
        .hasMessageNotContaining("Exception");
    assertThatThrownBy(
            () -> load("jdbc:postgresql://db1,db2/vigil?targetServerType=preferPrimary&ssl=true"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("targetServerType=primary");
  }

  @Test
  void aUrlWithSeveralHostsThatAsksForThePrimaryAndASingleHostUrlAreAccepted() {
    assertThat(
            load("jdbc:postgresql://db1:5432,db2:5432/vigil?ssl=true&targetServerType=primary")
                .databaseUrl())
        .contains("db2");
    assertThat(load("jdbc:postgresql://db1,db2/vigil?targetServerType=master").databaseUrl())
        .contains("db1");
    assertThat(load("jdbc:postgresql://db1:5432/vigil").databaseUrl()).contains("db1");
  }
}
