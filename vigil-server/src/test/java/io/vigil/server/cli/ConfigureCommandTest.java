package io.vigil.server.cli;

import static io.vigil.server.testing.CliTestCertificates.writePkcs12;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import io.vigil.server.protect.Thumbprint;
import io.vigil.server.testing.CliTestCertificates;
import io.vigil.server.testing.CliTestCertificates.Issued;
import io.vigil.server.testing.NodeProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vigil configure} in-process against a fake node: arguments, exit codes, what changes. */
class ConfigureCommandTest {

  static final String CLUSTER_OFF = "{\"maintenance\":false,\"nodes\":[]}";
  static final String CLUSTER_ON = "{\"maintenance\":true,\"nodes\":[]}";
  static final String SITE =
      "{\"siteName\":\"Site\",\"managementServerAddress\":null,\"revision\":4}";

  @TempDir Path tmp;
  Path dataDir;
  Path config;

  @BeforeEach
  void node() throws Exception {
    dataDir = tmp.resolve("data");
    Files.createDirectories(dataDir);
    Files.writeString(dataDir.resolve("appsettings.json"), "{\"Node\": {\"Name\": \"node-1\"}}\n");
    config = tmp.resolve("config");
  }

  Run vigil(String... args) {
    return new Run()
        .env("XDG_CONFIG_HOME", config.toString())
        .env("VIGIL_DATA_DIR", dataDir.toString())
        .env("VIGIL_PASSWORD", "secret")
        .exec(args);
  }

  static FakeNode cluster(String clusterJson) throws Exception {
    return new FakeNode()
        .signIn()
        .on("GET /api/v1/cluster", 200, clusterJson)
        .on("PUT /api/v1/cluster/maintenance", 204, "")
        .on("GET /api/v1/site", 200, SITE)
        .on("PATCH /api/v1/site", 200, SITE.replace("null", "\"x\""));
  }

  static List<String> calls(FakeNode node) {
    return node.apiRequests().stream()
        .map(r -> r.method() + " " + r.uri() + (r.body().isEmpty() ? "" : " " + r.body()))
        .toList();
  }

  JsonNode appsettings() throws Exception {
    return Json.MAPPER.readTree(Files.readString(dataDir.resolve("appsettings.json")));
  }

  // ---- register

  @Test
  void registerOnANodeChangesEverythingInsideMaintenanceAndTurnsItOffAfter() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      Run run = vigil("configure", "register", "--management-server", node.url());

      assertThat(run.exit).as(run.err).isEqualTo(ExitCodes.OK);
      assertThat(calls(node))
          .containsExactly(
              "GET /api/v1/cluster",
              "GET /api/v1/cluster",
              "PUT /api/v1/cluster/maintenance {\"enabled\":true}",
              "GET /api/v1/site",
              "PATCH /api/v1/site {\"managementServerAddress\":\"" + node.url() + "\"}",
              "PUT /api/v1/cluster/maintenance {\"enabled\":false}");
      assertThat(appsettings().path("Identity").path("Issuer").asText())
          .isEqualTo(node.url() + "/idp");
      assertThat(appsettings().path("Node").path("Name").asText()).isEqualTo("node-1");
      assertThat(Files.readString(config.resolve("vigil").resolve("cli.json")))
          .contains(node.url());
      assertThat(run.out).contains("Maintenance on", "Maintenance off", "restart the node");
    }
  }

  @Test
  void registerOnAMachineWithoutANodeChangesItsComponentsWithoutMaintenance() throws Exception {
    Path empty = tmp.resolve("no-node");
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      Run run =
          vigil(
              "configure",
              "register",
              "--management-server",
              node.url(),
              "--data-dir",
              empty.toString());

      assertThat(run.exit).as(run.err).isEqualTo(ExitCodes.OK);
      assertThat(calls(node)).containsExactly("GET /api/v1/cluster");
      assertThat(empty).doesNotExist();
      assertThat(config.resolve("vigil").resolve(ConfigureLock.FILE_NAME)).exists();

      Run show = vigil("configure", "show", "--data-dir", empty.toString());
      assertThat(show.exit).as(show.err).isZero();
      assertThat(show.out).contains("cli", node.url(), "No Vigil node in").doesNotContain("HTTPS:");
    }
  }

  @Test
  void registerLeavesMaintenanceOnWhenItWasOnAlready() throws Exception {
    try (FakeNode node = cluster(CLUSTER_ON)) {
      Run run = vigil("configure", "register", "--management-server", node.url());

      assertThat(run.exit).as(run.err).isEqualTo(ExitCodes.OK);
      assertThat(calls(node)).noneMatch(c -> c.startsWith("PUT /api/v1/cluster/maintenance"));
      assertThat(run.out).contains("was on already");
    }
  }

  @Test
  void aRegistrationThatFailsStillTurnsMaintenanceOffAndExitsWithItsCode() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      node.on(
          "PATCH /api/v1/site",
          409,
          "{\"code\":\"version_conflict\",\"message\":\"The site settings were changed.\"}");

      Run run = vigil("configure", "register", "--management-server", node.url());

      assertThat(run.exit).isEqualTo(ExitCodes.CONFLICT);
      assertThat(run.err).contains("version_conflict");
      assertThat(calls(node))
          .last()
          .isEqualTo("PUT /api/v1/cluster/maintenance {\"enabled\":false}");
    }
  }

  @Test
  void registerWithQuietPrintsNothingOnSuccess() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      Run run = vigil("configure", "register", "--management-server", node.url(), "--quiet");

      assertThat(run.exit).as(run.err).isEqualTo(ExitCodes.OK);
      assertThat(run.out).isEmpty();
      assertThat(run.err).isEmpty();
    }
  }

  @Test
  void theAddressRegisterStoredIsTheServerOfTheOtherCommands() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      node.on("GET /api/v1/servers", 200, "{\"items\":[],\"nextCursor\":null}");
      assertThat(vigil("configure", "register", "--management-server", node.url()).exit).isZero();

      Run list = vigil("server", "list");

      assertThat(list.exit).as(list.err).isZero();
      assertThat(calls(node)).last().isEqualTo("GET /api/v1/servers");
    }
  }

  @Test
  void aDamagedCliSettingsFileStopsOnlyTheCommandsThatNeedIt() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      node.on("GET /api/v1/servers", 200, "{\"items\":[],\"nextCursor\":null}");
      Files.createDirectories(config.resolve("vigil"));
      Files.writeString(config.resolve("vigil").resolve("cli.json"), "{ damaged");

      Run withServer = vigil("server", "list", "--server", node.url());
      Run without = vigil("server", "list");

      assertThat(withServer.exit).as(withServer.err).isZero();
      assertThat(without.exit).isEqualTo(ExitCodes.ERROR);
      assertThat(without.err).contains("cli_settings_unreadable", "cli.json");
    }
  }

  @Test
  void registerWithoutAManagementServerIsAUsageError() {
    Run run = vigil("configure", "register");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("--management-server");
  }

  @Test
  void registerRefusesAnAddressThatIsNotAnHttpUrlAndChangesNothing() throws Exception {
    for (String bad : List.of("ftp://cluster", "MyCluster", "http://user@cluster", "")) {
      Run run = vigil("configure", "register", "--management-server", bad);

      assertThat(run.exit).as(bad).isEqualTo(ExitCodes.USAGE);
      assertThat(run.err).as(bad).contains("invalid_management_server");
    }
    assertThat(appsettings().has("Identity")).isFalse();
  }

  @Test
  @SuppressWarnings("try") // the lock is held for the body, not used in it
  void registerWhileAnotherInstanceHoldsTheLockExitsNamingItsProcess() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF);
        ConfigureLock held = ConfigureLock.acquire(dataDir)) {
      Run run = vigil("configure", "register", "--management-server", node.url());

      assertThat(run.exit).isEqualTo(ExitCodes.ALREADY_RUNNING);
      assertThat(run.err).contains("already_running", "process " + ProcessHandle.current().pid());
      assertThat(node.requests).isEmpty();
    }
    assertThat(vigil("configure", "show").exit).isZero();
  }

  @Test
  void anUnreachableManagementServerExitsWithItsOwnCodeAndChangesNothing() throws Exception {
    String closed = "http://127.0.0.1:" + NodeProcess.freePort();

    Run run = vigil("configure", "register", "--management-server", closed);

    assertThat(run.exit).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(run.err).contains("unreachable");
    assertThat(appsettings().has("Identity")).isFalse();
    assertThat(config.resolve("vigil").resolve("cli.json")).doesNotExist();
  }

  @Test
  void aRefusedSignInExitsWithTheAuthenticationCodeBeforeAnyChange() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      node.on(
          "POST /idp/connect/token",
          400,
          "{\"error\":\"invalid_grant\",\"error_description\":\"Wrong user name or password.\"}");

      Run run = vigil("configure", "register", "--management-server", node.url());

      assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
      assertThat(node.apiRequests()).isEmpty();
      assertThat(appsettings().has("Identity")).isFalse();
      assertThat(run.err).doesNotContain("secret");
    }
  }

  // ---- show

  @Test
  void showReportsTheAddressTheRegistrationsTheCertificateAndDataProtection() throws Exception {
    Issued cert = CliTestCertificates.selfSigned("vigil.example.com");
    importCert(cert);
    assertThat(vigil("configure", "encryption", "--thumbprint", hex(cert)).exit).isZero();
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      assertThat(vigil("configure", "register", "--management-server", node.url()).exit).isZero();

      Run run = vigil("configure", "show", "--json");

      assertThat(run.exit).as(run.err).isZero();
      JsonNode report = Json.MAPPER.readTree(run.out);
      assertThat(report.path("managementServer").asText()).isEqualTo(node.url());
      assertThat(report.path("components").findValuesAsText("kind"))
          .containsExactly("management-server", "cli");
      assertThat(report.path("components").findValues("registered")).allMatch(JsonNode::asBoolean);
      assertThat(report.path("https").path("thumbprint").asText()).isEqualTo(hex(cert));
      assertThat(report.path("https").path("subject").asText()).contains("vigil.example.com");
      assertThat(report.path("https").path("notAfter").asText()).isNotEmpty();
      assertThat(report.path("dataProtection").path("protector").asText())
          .isEqualTo("machine-key-file");

      Run text = vigil("configure", "show");
      assertThat(text.out).contains(node.url(), "management-server", "yes", hex(cert));
    }
  }

  @Test
  void showSaysAComponentIsNotRegisteredOnceItsAddressChangedElsewhere() throws Exception {
    try (FakeNode node = cluster(CLUSTER_OFF)) {
      assertThat(vigil("configure", "register", "--management-server", node.url()).exit).isZero();
      Files.writeString(
          dataDir.resolve("appsettings.json"),
          "{\"Identity\": {\"Issuer\": \"http://other/idp\"}}");

      JsonNode report = Json.MAPPER.readTree(vigil("configure", "show", "--json").out);

      JsonNode server = report.path("components").get(0);
      assertThat(server.path("address").asText()).isEqualTo("http://other");
      assertThat(server.path("registered").asBoolean()).isFalse();
    }
  }

  // ---- encryption

  @Test
  void encryptionWithAValidCertificateSetsTheHttpsThumbprint() throws Exception {
    Issued cert = CliTestCertificates.selfSigned("vigil.example.com");
    importCert(cert);

    Run run = vigil("configure", "encryption", "--thumbprint", hex(cert));

    assertThat(run.exit).as(run.err).isZero();
    assertThat(appsettings().path("Http").path("Tls").path("Thumbprint").asText())
        .isEqualTo(hex(cert));
  }

  @Test
  void encryptionRefusesAnExpiredCertificateAndChangesNothing() throws Exception {
    Instant now = Instant.now();
    Issued expired =
        CliTestCertificates.selfSigned(
            "old.example.com",
            now.minus(Duration.ofDays(400)),
            now.minus(Duration.ofDays(1)),
            false);
    importCert(expired);
    String before = Files.readString(dataDir.resolve("appsettings.json"));

    Run run = vigil("configure", "encryption", "--thumbprint", hex(expired));

    assertThat(run.exit).isEqualTo(ExitCodes.INVALID_CERTIFICATE);
    assertThat(run.err).contains("invalid_certificate", "expired");
    assertThat(Files.readString(dataDir.resolve("appsettings.json"))).isEqualTo(before);
  }

  @Test
  void encryptionRefusesACertificateThatIsNotInTheStore() {
    Run run =
        vigil(
            "configure",
            "encryption",
            "--thumbprint",
            hex(CliTestCertificates.selfSigned("absent.example.com")));

    assertThat(run.exit).isEqualTo(ExitCodes.INVALID_CERTIFICATE);
    assertThat(run.err).contains("names no certificate");
  }

  @Test
  void encryptionRefusesACertificateWithoutAPrivateKey() throws Exception {
    Issued cert = CliTestCertificates.selfSigned("nokey.example.com");
    Path crt =
        CliTestCertificates.write(
            tmp.resolve("nokey.crt"), CliTestCertificates.pem(cert.certificate()));
    assertThat(vigil("protect", "import-cert", crt.toString(), "--trusted").exit).isZero();

    Run run = vigil("configure", "encryption", "--thumbprint", hex(cert));

    assertThat(run.exit).isEqualTo(ExitCodes.INVALID_CERTIFICATE);
  }

  @Test
  void encryptionRefusesACertificateNotIssuedForTlsServers() throws Exception {
    Issued clientOnly = clientAuthOnly("client.example.com");
    importCert(clientOnly);

    Run run = vigil("configure", "encryption", "--thumbprint", hex(clientOnly));

    assertThat(run.exit).isEqualTo(ExitCodes.INVALID_CERTIFICATE);
    assertThat(run.err).contains("serverAuth");
    assertThat(appsettings().has("Http")).isFalse();
  }

  /** A self-signed certificate whose extended key usage allows TLS clients only. */
  static Issued clientAuthOnly(String cn) throws Exception {
    var keys = CliTestCertificates.rsa(2048);
    Instant now = Instant.now();
    var builder =
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
            new org.bouncycastle.asn1.x500.X500Name("CN=" + cn),
            java.math.BigInteger.valueOf(now.toEpochMilli()),
            java.util.Date.from(now.minus(Duration.ofHours(1))),
            java.util.Date.from(now.plus(Duration.ofDays(30 * 12))),
            new org.bouncycastle.asn1.x500.X500Name("CN=" + cn),
            keys.getPublic());
    builder.addExtension(
        org.bouncycastle.asn1.x509.Extension.extendedKeyUsage,
        false,
        new org.bouncycastle.asn1.x509.ExtendedKeyUsage(
            org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_clientAuth));
    var signer =
        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withRSA")
            .build(keys.getPrivate());
    return new Issued(
        new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
            .getCertificate(builder.build(signer)),
        keys);
  }

  @Test
  void encryptionDisableTurnsHttpsOffForAProxyInFront() throws Exception {
    Files.writeString(
        dataDir.resolve("appsettings.json"), "{\"Http\": {\"Tls\": {\"Thumbprint\": \"AB\"}}}");

    Run run = vigil("configure", "encryption", "--disable");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(appsettings().path("Http").path("Tls").path("Thumbprint").isNull()).isTrue();
    assertThat(appsettings().path("Http").path("AllowPlainHttp").asBoolean()).isTrue();
  }

  @Test
  void encryptionNeedsExactlyOneOfThumbprintAndDisable() {
    assertThat(vigil("configure", "encryption").exit).isEqualTo(ExitCodes.USAGE);
    assertThat(vigil("configure", "encryption", "--disable", "--thumbprint", "AB").exit)
        .isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void encryptionRefusesAMalformedThumbprint() {
    Run run = vigil("configure", "encryption", "--thumbprint", "not-hex");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("invalid_thumbprint");
  }

  @Test
  void encryptionWhereNoNodeIsInstalledSaysSo() {
    Run run =
        new Run()
            .env("XDG_CONFIG_HOME", config.toString())
            .exec(
                "configure",
                "encryption",
                "--disable",
                "--data-dir",
                tmp.resolve("nothing").toString());

    assertThat(run.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run.err).contains("no_node");
  }

  void importCert(Issued cert) {
    Path p12 = writePkcs12(tmp.resolve("in").resolve(hex(cert) + ".p12"), cert, List.of(), "");
    Run run = vigil("protect", "import-cert", p12.toString(), "--trusted");
    assertThat(run.exit).as(run.err).isZero();
  }

  static String hex(Issued cert) {
    return Thumbprint.of(cert.certificate()).hex();
  }
}
