package io.vigil.server.cli;

import static io.vigil.server.testing.CliTestCertificates.pem;
import static io.vigil.server.testing.CliTestCertificates.pemKey;
import static io.vigil.server.testing.CliTestCertificates.write;
import static io.vigil.server.testing.CliTestCertificates.writePkcs12;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.MachineProtector;
import io.vigil.server.protect.Thumbprint;
import io.vigil.server.testing.CliTestCertificates;
import io.vigil.server.testing.CliTestCertificates.Issued;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProtectUseAndStatusTest {

  static Issued current;
  static Issued next;
  static Issued expired;
  static Issued expiring;
  static Issued keyless;

  @TempDir Path tmp;
  Path dataDir;
  Path settings;
  FileCertificateStore store;

  @BeforeAll
  static void certificates() {
    Instant now = Instant.now();
    current = CliTestCertificates.selfSigned("dp-2025.example.com");
    next = CliTestCertificates.selfSigned("dp-2026.example.com");
    expired =
        CliTestCertificates.selfSigned(
            "old.example.com",
            now.minus(Duration.ofDays(400)),
            now.minus(Duration.ofDays(1)),
            false);
    expiring =
        CliTestCertificates.selfSigned(
            "soon.example.com",
            now.minus(Duration.ofDays(300)),
            now.plus(Duration.ofDays(10)),
            false);
    keyless = CliTestCertificates.selfSigned("nokey.example.com");
  }

  @BeforeEach
  void dirs() {
    dataDir = tmp.resolve("data");
    settings = dataDir.resolve("appsettings.json");
    store = new FileCertificateStore(FileCertificateStore.defaultRoot(dataDir));
  }

  Run vigil(String... args) {
    String[] all =
        Stream.concat(Stream.of(args), Stream.of("--data-dir", dataDir.toString()))
            .toArray(String[]::new);
    return new Run().exec(all);
  }

  /** Imports {@code cert} with its key, trusted, as an operator would. */
  void imported(Issued cert) {
    Path p12 = writePkcs12(tmp.resolve("in").resolve(hex(cert) + ".p12"), cert, List.of(), "");
    Run run = vigil("protect", "import-cert", p12.toString(), "--trusted");
    assertThat(run.exit).as(run.err).isZero();
  }

  static String hex(Issued cert) {
    return Thumbprint.of(cert.certificate()).hex();
  }

  JsonNode settingsTree() throws Exception {
    return Json.MAPPER.readTree(Files.readString(settings));
  }

  // ---- use

  @Test
  void useSetsTheThumbprintMovesTheOldOneAndKeepsEverythingElse() throws Exception {
    imported(current);
    imported(next);
    String original =
        """
        {
          "Node": {"Name": "node-1", "AdvertisedUrl": "http://node-1:8080"},
          "Custom": {"Ratio": 1.50, "Big": 12345678901234567890, "List": [3, "x", null, {"a": true}]},
          "DataProtectionSettings": {
            "MachineKeyFile": "machine.key",
            "ProtectKeysWithCertificate": {"Thumbprint": "%s", "Comment": "kept"},
            "KeyLifetimeDays": 30
          },
          "Cluster": {"PreferredOwners": ["node-1", "node-2"], "Failback": false}
        }
        """
            .formatted(hex(current).toLowerCase());
    write(settings, original);

    Run run = vigil("protect", "use", "--thumbprint", hex(next));

    assertThat(run.exit).as(run.err).isZero();
    JsonNode expected = Json.MAPPER.readTree(original);
    var section =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            expected.path("DataProtectionSettings").path("ProtectKeysWithCertificate");
    section.put("Thumbprint", hex(next));
    section.putArray("OlderThumbprints").add(hex(current));
    assertThat(settingsTree()).isEqualTo(expected);
    String text = Files.readString(settings);
    assertThat(text).contains("1.50", "12345678901234567890");
    assertThat(fieldNames(settingsTree()))
        .containsExactly("Node", "Custom", "DataProtectionSettings", "Cluster");
    assertThat(fieldNames(settingsTree().path("DataProtectionSettings")))
        .containsExactly("MachineKeyFile", "ProtectKeysWithCertificate", "KeyLifetimeDays");
    assertThat(run.out).contains("restart the node", "re-wraps", "OlderThumbprints");
    try (Stream<Path> files = Files.list(dataDir)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
    }
  }

  @Test
  void switchingBackTakesTheThumbprintOutOfTheOlderOnes() throws Exception {
    imported(current);
    imported(next);

    assertThat(vigil("protect", "use", "--thumbprint", hex(current)).exit).isZero();
    assertThat(vigil("protect", "use", "--thumbprint", hex(next)).exit).isZero();
    assertThat(vigil("protect", "use", "--thumbprint", hex(current)).exit).isZero();

    JsonNode section =
        settingsTree().path("DataProtectionSettings").path("ProtectKeysWithCertificate");
    assertThat(section.path("Thumbprint").asText()).isEqualTo(hex(current));
    assertThat(section.path("OlderThumbprints").toString()).isEqualTo("[\"" + hex(next) + "\"]");
  }

  @Test
  void usingTheCurrentThumbprintAgainChangesNothing() throws Exception {
    imported(current);
    assertThat(vigil("protect", "use", "--thumbprint", hex(current)).exit).isZero();
    String before = Files.readString(settings);

    Run run = vigil("protect", "use", "--thumbprint", hex(current).toLowerCase());

    assertThat(run.exit).isZero();
    assertThat(run.out).contains("is already");
    assertThat(Files.readString(settings)).isEqualTo(before);
    assertThat(
            settingsTree()
                .path("DataProtectionSettings")
                .path("ProtectKeysWithCertificate")
                .has("OlderThumbprints"))
        .isFalse();
  }

  @Test
  void useEditsSectionsWhateverTheirCaseInsteadOfAddingASecond() throws Exception {
    imported(next);
    write(
        settings,
        "{\"dataProtectionSettings\":{\"protectKeysWithCertificate\":{\"thumbprint\":\""
            + hex(current)
            + "\"}}}");

    assertThat(vigil("protect", "use", "--thumbprint", hex(next)).exit).isZero();

    JsonNode tree = settingsTree();
    assertThat(fieldNames(tree)).containsExactly("dataProtectionSettings");
    JsonNode section = tree.path("dataProtectionSettings").path("protectKeysWithCertificate");
    assertThat(fieldNames(section)).containsExactly("thumbprint", "OlderThumbprints");
    assertThat(section.path("thumbprint").asText()).isEqualTo(hex(next));
  }

  @Test
  void useRefusesAThumbprintNotInTheStoreUnlessForced() throws Exception {
    write(settings, "{\"Http\":{\"Port\":8443}}");

    Run refused = vigil("protect", "use", "--thumbprint", hex(next));

    assertThat(refused.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(refused.err)
        .contains(hex(next), "not", "vigil protect import-cert", "--force")
        .endsWith("(certificate_not_found)\n");
    assertThat(Files.readString(settings)).isEqualTo("{\"Http\":{\"Port\":8443}}");

    Run forced = vigil("protect", "use", "--thumbprint", hex(next), "--force");

    assertThat(forced.exit).as(forced.err).isZero();
    assertThat(forced.err).startsWith("warning: ");
    assertThat(
            settingsTree()
                .path("DataProtectionSettings")
                .path("ProtectKeysWithCertificate")
                .path("Thumbprint")
                .asText())
        .isEqualTo(hex(next));
    assertThat(settingsTree().path("Http").path("Port").asInt()).isEqualTo(8443);
  }

  @Test
  void useRefusesACertificateWhosePrivateKeyCannotBeRead() throws Exception {
    // The certificate is in the store, but its key file is not.
    write(store.personal().resolve("nokey.crt"), pem(keyless.certificate()));

    Run run = vigil("protect", "use", "--thumbprint", hex(keyless));

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("private key", "nokey.key").endsWith("(private_key_unreadable)\n");
    assertThat(settings).doesNotExist();
  }

  @Test
  void useRefusesAnExpiredCertificateUnlessForced() throws Exception {
    imported(expired);

    Run refused = vigil("protect", "use", "--thumbprint", hex(expired), "--tls");

    assertThat(refused.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(refused.err).contains("expired on").endsWith("(certificate_expired)\n");
    assertThat(settings).doesNotExist();

    Run forced = vigil("protect", "use", "--thumbprint", hex(expired), "--tls", "--force");

    assertThat(forced.exit).isZero();
    assertThat(forced.err).contains("warning: ", "expired on");
    assertThat(settingsTree().path("Http").path("Tls").path("Thumbprint").asText())
        .isEqualTo(hex(expired));
  }

  @Test
  void useForDataProtectionRefusesAnUntrustedOrNonRsaCertificate() throws Exception {
    Path p12 = writePkcs12(tmp.resolve("in/untrusted.p12"), next, List.of(), "");
    assertThat(vigil("protect", "import-cert", p12.toString()).exit).isZero();

    Run untrusted = vigil("protect", "use", "--thumbprint", hex(next));

    assertThat(untrusted.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(untrusted.err)
        .contains("not trusted", "--trusted")
        .endsWith("(certificate_untrusted)\n");

    var keys = CliTestCertificates.ec();
    Instant now = Instant.now();
    Issued ec =
        CliTestCertificates.selfSigned(
            "ec.example.com", now.minusSeconds(60), now.plus(Duration.ofDays(90)), false, keys);
    Path pemFile = write(tmp.resolve("in/ec.pem"), pem(ec.certificate()) + pemKey(keys));
    assertThat(vigil("protect", "import-cert", pemFile.toString(), "--trusted").exit).isZero();

    Run notRsa = vigil("protect", "use", "--thumbprint", hex(ec));

    assertThat(notRsa.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(notRsa.err).contains("EC 256", "RSA-OAEP").endsWith("(certificate_unsuitable)\n");
    // An EC certificate serves HTTPS fine.
    assertThat(vigil("protect", "use", "--thumbprint", hex(ec), "--tls").exit).isZero();
    assertThat(settingsTree().has("DataProtectionSettings")).isFalse();
  }

  @Test
  void useTlsOnANodeWithoutHttpsSetsTheThumbprintAndSaysARestartSwitchesItToHttps()
      throws Exception {
    imported(next);
    write(settings, "{\"Http\":{\"Host\":\"0.0.0.0\",\"Port\":8443}}");

    Run run = vigil("protect", "use", "--thumbprint", hex(next), "--tls");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(settingsTree().toString())
        .isEqualTo(
            "{\"Http\":{\"Host\":\"0.0.0.0\",\"Port\":8443,\"Tls\":{\"Thumbprint\":\""
                + hex(next)
                + "\"}}}");
    assertThat(run.out)
        .contains("Http.Tls.Thumbprint", "restart the node", "HTTPS")
        .doesNotContain("nothing to restart");
  }

  @Test
  void useTlsReplacingTheHttpsCertificateSaysNoRestartIsNeeded() throws Exception {
    imported(current);
    imported(next);
    write(settings, "{\"Http\":{\"Tls\":{\"Thumbprint\":\"" + hex(current) + "\"}}}");

    Run run = vigil("protect", "use", "--thumbprint", hex(next), "--tls");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(settingsTree().toString())
        .isEqualTo("{\"Http\":{\"Tls\":{\"Thumbprint\":\"" + hex(next) + "\"}}}");
    assertThat(run.out).contains("Http.Tls.Thumbprint", "nothing to restart");
  }

  @Test
  void useKeepsTheSettingsFilePermissions() throws Exception {
    imported(next);
    write(settings, "{}");
    Files.setPosixFilePermissions(settings, PosixFilePermissions.fromString("rw-r-----"));

    assertThat(vigil("protect", "use", "--thumbprint", hex(next)).exit).isZero();

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(settings)))
        .isEqualTo("rw-r-----");
  }

  @Test
  void aNewSettingsFileIsOwnerOnly() throws Exception {
    imported(next);

    assertThat(vigil("protect", "use", "--thumbprint", hex(next)).exit).isZero();

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(settings)))
        .isEqualTo("rw-------");
  }

  @Test
  void useRejectsSomethingThatIsNotAThumbprint() {
    Run run = vigil("protect", "use", "--thumbprint", "12:34");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("40 hexadecimal digits").endsWith("(invalid_thumbprint)\n");
  }

  @Test
  void useRefusesASettingsFileThatIsNotJson() throws Exception {
    imported(next);
    write(settings, "{\"Http\": {\"Port\": 80,}");

    Run run = vigil("protect", "use", "--thumbprint", hex(next));

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .contains("appsettings.json is not valid JSON")
        .endsWith("(settings_invalid)\n");
    assertThat(Files.readString(settings)).isEqualTo("{\"Http\": {\"Port\": 80,}");
  }

  // ---- status

  @Test
  void statusOfTheMachineProtectorBeforeTheFirstStart() {
    write(settings, "{\"DataProtectionSettings\":{\"MachineKeyFile\":\"keys/machine.key\"}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("the machine key file " + dataDir.resolve("keys/machine.key"))
        .contains("DataProtectionSettings.MachineKeyFile")
        .contains("does not exist yet")
        .contains("vigil cluster validate");
    assertThat(dataDir.resolve("keys/machine.key")).doesNotExist();
  }

  @Test
  void statusOfAnExistingMachineKeyFileNamesItsId() throws Exception {
    Path keyFile = tmp.resolve("machine.key");
    String id = MachineProtector.open(keyFile).id();
    write(settings, "{\"DataProtectionSettings\":{\"MachineKeyFile\":\"" + keyFile + "\"}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).contains(id, "Data protection is usable");
  }

  @Test
  void statusOfAnUnusableMachineKeyFileFails() throws Exception {
    Path keyFile = write(tmp.resolve("short.key"), "too short");
    write(settings, "{\"DataProtectionSettings\":{\"MachineKeyFile\":\"" + keyFile + "\"}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .startsWith("error: Data protection is not usable on this node")
        .endsWith("(machine_key_unreadable)\n");
  }

  @Test
  void statusOfAUsableCertificateShowsItsFactsAndTheOlderOnes() throws Exception {
    imported(current);
    imported(next);
    write(
        settings,
        "{\"DataProtectionSettings\":{\"MachineKeyFile\":\""
            + tmp.resolve("none.key")
            + "\",\"ProtectKeysWithCertificate\":{\"Thumbprint\":\""
            + hex(next)
            + "\",\"OlderThumbprints\":[\""
            + hex(current)
            + "\"]}}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).as(run.err + run.out).isZero();
    assertThat(run.out)
        .contains("Protector: certificate " + hex(next))
        .contains("current  " + hex(next))
        .contains("older  " + hex(current))
        .contains("subject      CN=dp-2026.example.com")
        .contains("days left)")
        .contains("trusted      yes")
        .contains("private key  readable (RSA 2048)")
        .contains("Data protection is usable")
        .contains("vigil cluster validate");
  }

  @Test
  void statusFailsWhenTheConfiguredCertificateIsMissing() throws Exception {
    write(
        settings,
        "{\"DataProtectionSettings\":{\"ProtectKeysWithCertificate\":{\"Thumbprint\":\""
            + hex(next)
            + "\"}}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.out).contains("not in the store");
    assertThat(run.err.lines().filter(l -> l.startsWith("error: ")))
        .singleElement()
        .asString()
        .contains(hex(next), "vigil protect import-cert")
        .endsWith("(certificate_not_found)");
  }

  @Test
  void statusFailsForAnUnreadableKeyButOnlyWarnsForAMissingOlderCertificate() throws Exception {
    write(store.personal().resolve("nokey.crt"), pem(keyless.certificate()));
    write(
        settings,
        "{\"DataProtectionSettings\":{\"ProtectKeysWithCertificate\":{\"Thumbprint\":\""
            + hex(keyless)
            + "\",\"OlderThumbprints\":[\""
            + hex(current)
            + "\"]}}}");

    Run run = vigil("protect", "status");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.out)
        .contains("private key  not readable")
        .contains("warning: certificate " + hex(current));
    assertThat(run.err).endsWith("(private_key_unreadable)\n");
  }

  @Test
  void statusWarnsWhenTheCertificateExpiresWithinThirtyDays() throws Exception {
    imported(expiring);
    assertThat(vigil("protect", "use", "--thumbprint", hex(expiring)).exit).isZero();

    Run run = vigil("protect", "status", "--json");

    assertThat(run.exit).as(run.err).isZero();
    JsonNode body = Json.MAPPER.readTree(run.out);
    assertThat(body.path("usable").asBoolean()).isTrue();
    assertThat(body.path("protector").path("type").asText()).isEqualTo("certificate");
    JsonNode cert = body.path("protector").path("certificates").get(0);
    assertThat(cert.path("role").asText()).isEqualTo("current");
    assertThat(cert.path("daysLeft").asLong()).isBetween(9L, 10L);
    assertThat(body.path("warnings").get(0).asText()).contains("expires in", "renew it");
    assertThat(body.path("keyRing").asText()).contains("vigil cluster validate");
  }

  @Test
  void statusReportsTheTlsCertificateToo() throws Exception {
    imported(expired);
    assertThat(vigil("protect", "use", "--thumbprint", hex(expired), "--tls", "--force").exit)
        .isZero();
    String text = Files.readString(settings);
    write(
        settings,
        "{\"DataProtectionSettings\": {\"MachineKeyFile\": \""
            + tmp.resolve("m.key")
            + "\"},"
            + text.substring(text.indexOf('{') + 1));

    Run run = vigil("protect", "status");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("TLS  " + hex(expired))
        .contains("warning: CN=old.example.com")
        .contains("expired on");
  }

  static List<String> fieldNames(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    node.properties().forEach(e -> names.add(e.getKey()));
    return names;
  }
}
