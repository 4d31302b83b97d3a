package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandEnvironmentTest {

  private static final Map<String, String> NODE =
      Map.of(
          "PATH", "/usr/bin",
          "HOME", "/var/lib/vigil",
          "LANG", "C.UTF-8",
          "LC_TIME", "en_DK.UTF-8",
          "VIGIL_DB_PASSWORD", "secret",
          "VIGIL_ADMIN_PASSWORD", "also-secret",
          "BACKUP_TARGET", "nas-1",
          "INVOCATION_ID", "abc");

  @Test
  void onUnixOnlyTheShellsVariablesPass() {
    assertThat(CommandEnvironment.of(NODE, List.of(), false))
        .containsOnlyKeys("PATH", "HOME", "LANG", "LC_TIME");
  }

  @Test
  void theOperatorsNamesPassTooButNamesTheNodeLacksAreLeftOut() {
    assertThat(CommandEnvironment.of(NODE, List.of("BACKUP_TARGET", "NOT_SET"), false))
        .containsEntry("BACKUP_TARGET", "nas-1")
        .doesNotContainKeys("NOT_SET", "VIGIL_DB_PASSWORD");
  }

  @Test
  void onWindowsNamesAreComparedWithoutCase() {
    Map<String, String> node =
        Map.of(
            "Path",
            "C:\\\\Windows",
            "SYSTEMROOT",
            "C:\\\\Windows",
            "Db_Password",
            "x",
            "backup_target",
            "nas");
    assertThat(CommandEnvironment.of(node, List.of("BACKUP_TARGET"), true))
        .containsOnlyKeys("Path", "SYSTEMROOT", "backup_target");
  }

  @Test
  void reservedOrMalformedNamesAreRefusedWithTheFix() {
    assertThatThrownBy(() -> CommandEnvironment.validate(List.of("VIGIL_EPOCH")))
        .hasMessageContaining("VIGIL_EPOCH, which Vigil sets itself");
    assertThatThrownBy(() -> CommandEnvironment.validate(List.of("vigil_node")))
        .hasMessageContaining("which Vigil sets itself");
    assertThatThrownBy(() -> CommandEnvironment.validate(List.of("A=B")))
        .hasMessageContaining("'A=B', which is not a variable name");
    assertThatThrownBy(() -> CommandEnvironment.validate(java.util.Arrays.asList("OK", null)))
        .hasMessageContaining("an empty entry");
  }
}
