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

  @Test
  void noVirtualIpByDefault() {
    assertThat(load().virtualIp()).isNull();
  }

  @Test
  void aVirtualIpIsReadFromTheFileWithItsDefaults() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        io.vigil.server.cluster.VirtualIp.linux()
            && io.vigil.server.cluster.VirtualIp.installed("ip")
            && io.vigil.server.cluster.VirtualIp.installed("arping"),
        "needs Linux with ip and arping installed");
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Cluster\": {\"VirtualIp\": {\"Address\": \"192.0.2.10\", \"Interface\": \"eth0\"}}}");

    assertThat(load().virtualIp())
        .isEqualTo(new io.vigil.server.cluster.VirtualIp.Config("192.0.2.10", 32, "eth0", 5, 200));
  }

  @Test
  void aVirtualIpWithoutInterfaceOrWithAHostNameIsRefusedAtStartNamingTheSetting()
      throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Cluster\": {\"VirtualIp\": {\"Address\": \"vip.example\", \"Interface\": \"eth0\"}}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Cluster.VirtualIp.");

    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Cluster\": {\"VirtualIp\": {\"Address\": \"192.0.2.10\"}}}");
    assertThatThrownBy(this::load)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(
            io.vigil.server.cluster.VirtualIp.linux()
                ? "Cluster.VirtualIp.Interface is not set"
                : "Cluster.VirtualIp.Address is set, but a virtual IP address is managed on Linux");
  }
}
