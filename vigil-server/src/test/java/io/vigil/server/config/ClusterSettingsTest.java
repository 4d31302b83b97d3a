package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Cluster section's environment for generic resources' commands. */
class ClusterSettingsTest {

  @TempDir Path dir;

  Settings load() {
    return SettingsLoader.load(
        dir, Map.of("VIGIL_NODE_NAME", "n1"), SettingsLoader.Overrides.none());
  }

  @Test
  void commandsGetNoVariableOfTheOperatorsByDefault() {
    assertThat(load().cluster.resourceEnvironment).isEmpty();
  }

  @Test
  void theOperatorNamesVariablesToPassOn() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Cluster\": {\"ResourceEnvironment\": [\"BACKUP_TARGET\", \"HTTPS_PROXY\"]}}");

    assertThat(load().cluster.resourceEnvironment).containsExactly("BACKUP_TARGET", "HTTPS_PROXY");
  }

  @Test
  void aReservedOrMalformedNameIsRefusedAtStart() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Cluster\": {\"ResourceEnvironment\": [\"VIGIL_EPOCH\"]}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Cluster.ResourceEnvironment in")
        .hasMessageContaining("VIGIL_EPOCH, which Vigil sets itself");

    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Cluster\": {\"ResourceEnvironment\": [\"A B\"]}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'A B', which is not a variable name");
  }
}
