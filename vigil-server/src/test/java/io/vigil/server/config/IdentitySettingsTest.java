package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Identity section's signing algorithm. */
class IdentitySettingsTest {

  @TempDir Path dir;

  Settings load() {
    return SettingsLoader.load(
        dir, Map.of("VIGIL_NODE_NAME", "n1"), SettingsLoader.Overrides.none());
  }

  @Test
  void tokensAreSignedWithRs256ByDefaultAndANullKeepsTheDefault() throws Exception {
    assertThat(load().identity.signingAlgorithm).isEqualTo("RS256");

    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Identity\": {\"SigningAlgorithm\": null}}");
    assertThat(load().identity.signingAlgorithm).isEqualTo("RS256");
  }

  @Test
  void es256IsTakenInAnyCase() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Identity\": {\"SigningAlgorithm\": \" es256 \"}}");
    assertThat(load().identity.signingAlgorithm).isEqualTo("ES256");
  }

  @Test
  void aSigningAlgorithmOtherThanRs256OrEs256IsRefusedAtStartNamingTheAllowedValues()
      throws Exception {
    for (String wrong : new String[] {"EdDSA", "HS256", "none", "RS512", ""}) {
      Files.writeString(
          dir.resolve("appsettings.json"),
          "{\"Identity\": {\"SigningAlgorithm\": \"" + wrong + "\"}}");
      assertThatThrownBy(this::load)
          .as(wrong)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("Identity.SigningAlgorithm \"" + wrong + "\" is not supported")
          .hasMessageContaining("use \"RS256\" (the default) or \"ES256\"");
    }
  }

  @Test
  void aSigningAlgorithmThatIsNotAStringIsRefusedAtStart() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Identity\": {\"SigningAlgorithm\": 256}}");
    assertThatThrownBy(this::load).isInstanceOf(ConfigException.class);
  }
}
