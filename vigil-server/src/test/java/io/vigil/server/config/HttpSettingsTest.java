package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Http section: TLS, plain HTTP by choice, trusted proxies, connection limits and timeouts. */
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

  @Test
  void connectionLimitsAndTimeoutsHaveDefaults() {
    Settings s = load(Map.of());

    assertThat(s.http.requestBodyTimeoutSeconds).isEqualTo(10);
    assertThat(s.http.maxConnections).isEqualTo(1000);
    assertThat(s.http.maxConnectionsPerAddress).isEqualTo(32);
    assertThat(s.http.maxRequestHeaderBytes).isEqualTo(8192);
    assertThat(s.http.idleTimeoutSeconds).isEqualTo(30);
  }

  @Test
  void theFileAndTheEnvironmentSetConnectionLimits() throws Exception {
    Files.writeString(
        dir.resolve("appsettings.json"),
        "{\"Http\": {\"RequestBodyTimeoutSeconds\": 5, \"MaxRequestHeaderBytes\": 16384,"
            + " \"IdleTimeoutSeconds\": 60}}");

    Settings s =
        load(
            Map.of(
                "VIGIL_HTTP_MAX_CONNECTIONS", "5000",
                "VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "4096"));

    assertThat(s.http.requestBodyTimeoutSeconds).isEqualTo(5);
    assertThat(s.http.maxRequestHeaderBytes).isEqualTo(16384);
    assertThat(s.http.idleTimeoutSeconds).isEqualTo(60);
    assertThat(s.http.maxConnections).isEqualTo(5000);
    assertThat(s.http.maxConnectionsPerAddress).isEqualTo(4096);
  }

  @Test
  void limitsAndTimeoutsOutOfRangeAreConfigurationErrors() throws Exception {
    Path file = dir.resolve("appsettings.json");
    for (String bad :
        new String[] {
          "\"RequestBodyTimeoutSeconds\": 0",
          "\"IdleTimeoutSeconds\": 0",
          "\"IdleTimeoutSeconds\": 100000",
          "\"MaxRequestHeaderBytes\": 100",
          "\"MaxRequestHeaderBytes\": 10000000",
          "\"MaxConnections\": 0",
          "\"MaxConnectionsPerAddress\": 0",
          "\"MaxConnections\": 10, \"MaxConnectionsPerAddress\": 11"
        }) {
      Files.writeString(file, "{\"Http\": {" + bad + "}}");
      String name = bad.substring(bad.lastIndexOf('"', bad.lastIndexOf(':') - 2) + 1);
      name = name.substring(0, name.indexOf('"'));

      assertThatThrownBy(() -> load(Map.of()))
          .as(bad)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("Http." + name + " ")
          .hasMessageContaining("out of range");
    }
  }

  @Test
  void aPerAddressLimitFromTheEnvironmentMustBeANumber() {
    assertThatThrownBy(() -> load(Map.of("VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "many")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS=\"many\"");
  }
}
