package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Http section: TLS, plain HTTP by choice, trusted proxies. */
class HttpSettingsTest {

  static final String THUMBPRINT = "0123456789ABCDEF0123456789ABCDEF01234567";

  @TempDir Path dir;

  Settings load(Map<String, String> env) {
    return SettingsLoader.load(dir, env, SettingsLoader.Overrides.none());
  }

  @Test
  void defaultsAreHttpsRequiredNoCertificateAndNoTrustedProxies() {
    Settings s = load(Map.of("VIGIL_NODE_NAME", "n1"));

    assertThat(s.http.tlsEnabled()).isFalse();
    assertThat(s.http.allowPlainHttp).isFalse();
    assertThat(s.http.trustedProxies).isEmpty();
    assertThat(s.advertisedUrl()).isEqualTo("http://n1:8080");
  }

  @Test
  void aCertificateMakesTheAdvertisedUrlAndTheIssuerHttps() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + THUMBPRINT.toLowerCase() + "\"}}}");

    Settings s = load(Map.of("VIGIL_NODE_NAME", "n1"));

    assertThat(s.http.tlsEnabled()).isTrue();
    assertThat(s.http.tls.thumbprintFromEnvironment).isFalse();
    assertThat(s.advertisedUrl()).isEqualTo("https://n1:8080");
    assertThat(s.issuer()).isEqualTo("https://n1:8080/idp");
    assertThat(SettingsLoader.currentTlsThumbprint(s)).isEqualTo(THUMBPRINT.toLowerCase());
  }

  @Test
  void environmentSetsThumbprintPlainHttpAndTrustedProxies() {
    Settings s =
        load(
            Map.of(
                "VIGIL_TLS_THUMBPRINT", THUMBPRINT,
                "VIGIL_HTTP_ALLOW_PLAIN", "TRUE",
                "VIGIL_HTTP_TRUSTED_PROXIES", " 10.0.0.5, 10.1.0.0/16 ,,"));

    assertThat(s.http.tls.thumbprint).isEqualTo(THUMBPRINT);
    assertThat(s.http.tls.thumbprintFromEnvironment).isTrue();
    assertThat(s.http.allowPlainHttp).isTrue();
    assertThat(s.http.trustedProxies).containsExactly("10.0.0.5", "10.1.0.0/16");
  }

  @Test
  void allowPlainMustBeTrueOrFalse() {
    assertThatThrownBy(() -> load(Map.of("VIGIL_HTTP_ALLOW_PLAIN", "yes")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("VIGIL_HTTP_ALLOW_PLAIN=\"yes\" is not true or false");
  }

  @Test
  void aTrustedProxyThatIsNotAnAddressIsAConfigurationError() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"), "{\"Http\": {\"TrustedProxies\": [\"lb.example.com\"]}}");

    assertThatThrownBy(() -> load(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Http.TrustedProxies in " + dir.resolve("appsettings.json"))
        .hasMessageContaining("\"lb.example.com\" is not an IP address or CIDR range");
  }

  @Test
  void removingTheThumbprintFromTheFileIsSeenWhileRunning() throws Exception {
    Path file = dir.resolve("appsettings.json");
    Files.writeString(file, "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + THUMBPRINT + "\"}}}");
    Settings s = load(Map.of());

    Files.writeString(file, "{\"Http\": {\"Port\": 8443}}");

    assertThat(SettingsLoader.currentTlsThumbprint(s)).isNull();
  }
}
