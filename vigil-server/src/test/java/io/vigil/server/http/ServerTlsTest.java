package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestCertificates.Issued;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each reason a node refuses its HTTPS certificate at start-up, and the line that says so. */
class ServerTlsTest {

  static Issued ca;

  @TempDir Path dataDir;

  @BeforeAll
  static void createCa() {
    ca = TestCertificates.ca("Vigil Test CA");
  }

  Settings settings(Object thumbprint) {
    Map<String, String> env = new HashMap<>();
    env.put("VIGIL_TLS_THUMBPRINT", thumbprint.toString());
    return SettingsLoader.load(dataDir, env, new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
  }

  Path personal() {
    return TestCertificates.personal(dataDir);
  }

  @Test
  void validCertificateFromPkcs12IsServedWithItsChain() {
    Issued server = TestCertificates.server("vigil.test", ca);
    TestCertificates.writePkcs12(personal(), "https", server, "p12-password");

    try (ServerTls tls = ServerTls.load(settings(server.thumbprint()))) {
      assertThat(tls.thumbprint()).isEqualTo(server.thumbprint());
      assertThat(tls.describe()).contains("CN=vigil.test");
      assertThat(tls.factory().getIncludeProtocols()).containsExactly("TLSv1.3", "TLSv1.2");
    }
  }

  @Test
  void noCertificateConfiguredMeansPlainHttp() {
    Settings s =
        SettingsLoader.load(
            dataDir, Map.of(), new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));

    assertThat(ServerTls.load(s)).isNull();
  }

  @Test
  void nodeRefusesThumbprintThatIsNotInTheStore() {
    Issued other = TestCertificates.server("other.test", ca);
    TestCertificates.writePem(personal(), "other", other);
    Issued missing = TestCertificates.server("missing.test", ca);

    assertThatThrownBy(() -> ServerTls.load(settings(missing.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Http.Tls.Thumbprint " + missing.thumbprint())
        .hasMessageContaining("names no certificate in the certificate store in")
        .hasMessageContaining("it holds CN=other.test (thumbprint " + other.thumbprint() + ")")
        .hasMessageContaining("vigil protect import-cert")
        .hasMessageContaining("vigil protect list-certs");
  }

  @Test
  void nodeRefusesThumbprintInAnEmptyStoreAndNamesUnreadableFiles() throws Exception {
    Issued server = TestCertificates.server("vigil.test", ca);
    Path p12 = TestCertificates.writePkcs12(personal(), "https", server, "right");
    Files.writeString(personal().resolve("https.p12.password"), "wrong");

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("it holds no certificate")
        .hasMessageContaining("it cannot read " + p12)
        .hasMessageContaining("wrong password");
  }

  @Test
  void nodeRefusesExpiredCertificate() {
    Instant expiry =
        Instant.now().minus(Duration.ofDays(2)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    Issued expired =
        TestCertificates.builder("expired.test")
            .dnsNames("localhost")
            .validFrom(expiry.minus(Duration.ofDays(30)))
            .validUntil(expiry)
            .issuedBy(ca)
            .build();
    TestCertificates.writePkcs12(personal(), "expired", expired, "pw");

    assertThatThrownBy(() -> ServerTls.load(settings(expired.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(
            "The HTTPS certificate CN=expired.test (thumbprint " + expired.thumbprint())
        .hasMessageContaining("expired on " + expiry)
        .hasMessageContaining("vigil protect use --tls --thumbprint");
  }

  @Test
  void nodeRefusesCertificateThatIsNotYetValid() {
    Instant start =
        Instant.now().plus(Duration.ofDays(3)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    Issued future =
        TestCertificates.builder("future.test")
            .validFrom(start)
            .validUntil(start.plus(Duration.ofDays(30)))
            .issuedBy(ca)
            .build();
    TestCertificates.writePem(personal(), "future", future);

    assertThatThrownBy(() -> ServerTls.load(settings(future.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("CN=future.test")
        .hasMessageContaining("is not valid before " + start)
        .hasMessageContaining("clock");
  }

  @Test
  void nodeRefusesPkcs12WithoutPrivateKey() {
    Issued server = TestCertificates.server("nokey.test", ca);
    TestCertificates.writePkcs12(personal(), "nokey", server, "pw", false);

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("CN=nokey.test")
        .hasMessageContaining("has no private key this node can use")
        .hasMessageContaining("holds the certificate but no private key")
        .hasMessageContaining("Import the certificate together with its private key");
  }

  @Test
  void nodeRefusesPemCertificateWithoutKeyFile() {
    Issued server = TestCertificates.server("nokey.test", ca);
    Path crt = TestCertificates.writeCertificatePem(personal(), "nokey", server);

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("there is no private key file " + personal().resolve("nokey.key"))
        .hasMessageContaining(crt.toString());
  }

  @Test
  void nodeRefusesPrivateKeyInAFormatItCannotRead() throws Exception {
    Issued server = TestCertificates.server("pkcs1.test", ca);
    TestCertificates.writePem(personal(), "pkcs1", server);
    Files.writeString(
        personal().resolve("pkcs1.key"),
        server.privateKeyPem().replace("PRIVATE KEY", "RSA PRIVATE KEY"));

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("CN=pkcs1.test")
        .hasMessageContaining("has no private key this node can use")
        .hasMessageContaining("openssl pkcs8 -topk8");
  }

  @Test
  void nodeRefusesPrivateKeyTheServiceAccountCannotRead() throws Exception {
    assumeThat(System.getProperty("user.name")).as("root reads every file").isNotEqualTo("root");
    Issued server = TestCertificates.server("locked.test", ca);
    TestCertificates.writePem(personal(), "locked", server);
    Files.setPosixFilePermissions(
        personal().resolve("locked.key"), PosixFilePermissions.fromString("---------"));

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("has no permission to read " + personal().resolve("locked.key"))
        .hasMessageContaining("let the service account");
  }

  @Test
  void nodeRefusesPrivateKeyOfAnotherCertificate() throws Exception {
    Issued server = TestCertificates.server("mixed.test", ca);
    Issued other = TestCertificates.server("other.test", ca);
    TestCertificates.writePem(personal(), "mixed", server);
    Files.writeString(personal().resolve("mixed.key"), other.privateKeyPem());

    assertThatThrownBy(() -> ServerTls.load(settings(server.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("CN=mixed.test")
        .hasMessageContaining("belongs to another certificate");
  }

  @Test
  void nodeRefusesCertificateNotMeantForTlsServers() {
    Issued client =
        TestCertificates.builder("client.test")
            .issuedBy(ca)
            .extendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
            .build();
    TestCertificates.writePkcs12(personal(), "client", client, "pw");

    assertThatThrownBy(() -> ServerTls.load(settings(client.thumbprint())))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("CN=client.test")
        .hasMessageContaining("lacks serverAuth");
  }

  @Test
  void thumbprintThatIsNotHexIsAConfigurationError() {
    assertThatThrownBy(() -> settings("not-a-thumbprint"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("Http.Tls.Thumbprint")
        .hasMessageContaining("VIGIL_TLS_THUMBPRINT")
        .hasMessageContaining("40 hexadecimal digits");
  }

  @Test
  void thumbprintIsAcceptedWithColonsSpacesAndLowerCase() {
    Issued server = TestCertificates.server("vigil.test", ca);
    TestCertificates.writePkcs12(personal(), "https", server, "pw");
    String hex = server.thumbprint().hex().toLowerCase();
    String copied = String.join(":", hex.split("(?<=\\G..)"));

    try (ServerTls tls = ServerTls.load(settings(" " + copied + " "))) {
      assertThat(tls.thumbprint()).isEqualTo(server.thumbprint());
    }
  }

  @Test
  void replacementThatFailsItsChecksKeepsTheServedCertificate() throws Exception {
    Issued first = TestCertificates.server("first.test", ca);
    TestCertificates.writePkcs12(personal(), "first", first, "pw");
    Files.writeString(
        dataDir.resolve("appsettings.json"),
        "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + first.thumbprint() + "\"}}}");
    Settings s =
        SettingsLoader.load(
            dataDir, Map.of(), new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    try (ServerTls tls = ServerTls.load(s)) {
      Issued expired =
          TestCertificates.builder("expired.test")
              .validFrom(Instant.now().minus(Duration.ofDays(10)))
              .validUntil(Instant.now().minus(Duration.ofDays(1)))
              .issuedBy(ca)
              .build();
      TestCertificates.writePkcs12(personal(), "expired", expired, "pw");
      Files.writeString(
          dataDir.resolve("appsettings.json"),
          "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + expired.thumbprint() + "\"}}}");

      assertThat(tls.checkForChanges()).isFalse();
      assertThat(tls.thumbprint()).isEqualTo(first.thumbprint());

      Issued second = TestCertificates.server("second.test", ca);
      TestCertificates.writePem(personal(), "second", second);
      Files.writeString(
          dataDir.resolve("appsettings.json"),
          "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + second.thumbprint() + "\"}}}");

      assertThat(tls.checkForChanges()).isTrue();
      assertThat(tls.thumbprint()).isEqualTo(second.thumbprint());
      assertThat(tls.checkForChanges()).isFalse();
    }
  }

  @Test
  void thumbprintFromTheEnvironmentIsNotReplacedByTheFile() throws Exception {
    Issued pinned = TestCertificates.server("pinned.test", ca);
    Issued other = TestCertificates.server("other.test", ca);
    TestCertificates.writePkcs12(personal(), "pinned", pinned, "pw");
    TestCertificates.writePkcs12(personal(), "other", other, "pw");
    try (ServerTls tls = ServerTls.load(settings(pinned.thumbprint()))) {
      Files.writeString(
          dataDir.resolve("appsettings.json"),
          "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + other.thumbprint() + "\"}}}");
      Files.writeString(personal().resolve("touch.txt"), "a change in the store folder");

      assertThat(tls.checkForChanges()).isFalse();
      assertThat(tls.thumbprint()).isEqualTo(pinned.thumbprint());
    }
  }
}
