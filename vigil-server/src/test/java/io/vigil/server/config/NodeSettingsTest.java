package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Node section's NativeCrypto switch, from the file and from the environment. */
class NodeSettingsTest {

  @TempDir Path dir;

  Settings load(Map<String, String> env) {
    return SettingsLoader.load(dir, env, SettingsLoader.Overrides.none());
  }

  @Test
  void nativeCryptoIsOnByDefault() {
    assertThat(load(Map.of()).node.nativeCrypto).isTrue();
  }

  @Test
  void theFileOrTheEnvironmentTurnsNativeCryptoOffAndTheEnvironmentWins() throws Exception {
    Files.writeString(dir.resolve("appsettings.json"), "{\"Node\": {\"NativeCrypto\": false}}");
    assertThat(load(Map.of()).node.nativeCrypto).isFalse();
    assertThat(load(Map.of("VIGIL_NATIVE_CRYPTO", "TRUE")).node.nativeCrypto).isTrue();
    Files.delete(dir.resolve("appsettings.json"));
    assertThat(load(Map.of("VIGIL_NATIVE_CRYPTO", "false")).node.nativeCrypto).isFalse();
  }

  @Test
  void aNativeCryptoValueOtherThanTrueOrFalseIsRefused() {
    assertThatThrownBy(() -> load(Map.of("VIGIL_NATIVE_CRYPTO", "no")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("VIGIL_NATIVE_CRYPTO=\"no\" is not true or false");
  }
}
