package io.vigil.server.cli;

import static io.vigil.server.testing.CliTestCertificates.pem;
import static io.vigil.server.testing.CliTestCertificates.pemKey;
import static io.vigil.server.testing.CliTestCertificates.write;
import static io.vigil.server.testing.CliTestCertificates.writePkcs12;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.StoredCertificate;
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

class ProtectImportCertTest {

  static Issued root;
  static Issued leaf;
  static Issued selfSigned;
  static Issued other;

  @TempDir Path tmp;
  Path dataDir;
  Path inbox;
  FileCertificateStore store;

  @BeforeAll
  static void certificates() {
    root = CliTestCertificates.authority("Vigil Test Root");
    leaf = CliTestCertificates.issuedBy(root, "node-1.example.com");
    selfSigned = CliTestCertificates.selfSigned("dp.example.com");
    other = CliTestCertificates.selfSigned("other.example.com");
  }

  @BeforeEach
  void dirs() {
    dataDir = tmp.resolve("data");
    inbox = tmp.resolve("inbox");
    store = new FileCertificateStore(FileCertificateStore.defaultRoot(dataDir));
  }

  Run vigil(String... args) {
    String[] all =
        Stream.concat(Stream.of(args), Stream.of("--data-dir", dataDir.toString()))
            .toArray(String[]::new);
    return new Run().exec(all);
  }

  static Thumbprint thumbprint(Issued cert) {
    return Thumbprint.of(cert.certificate());
  }

  Path passwordFile(String password) {
    return write(inbox.resolve("p12.pass"), password + "\n");
  }

  static String perms(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  boolean storeIsEmpty() throws Exception {
    if (!Files.exists(store.root())) {
      return true;
    }
    try (Stream<Path> files = Files.walk(store.root())) {
      return files.noneMatch(Files::isRegularFile);
    }
  }

  // ---- import-cert: happy paths

  @Test
  void importsPkcs12AsOwnerOnlyFilesNamedByThumbprintWithANewPassword() throws Exception {
    Path p12 =
        writePkcs12(inbox.resolve("node.pfx"), leaf, List.of(root.certificate()), "Tr4nsp0rt pw");

    Run run =
        vigil(
            "protect",
            "import-cert",
            p12.toString(),
            "--password-file",
            passwordFile("Tr4nsp0rt pw").toString());

    assertThat(run.exit).as(run.err).isZero();
    String t = thumbprint(leaf).hex();
    Path stored = store.personal().resolve(t + ".p12");
    Path password = store.personal().resolve(t + ".p12.password");
    assertThat(perms(stored)).isEqualTo("rw-------");
    assertThat(perms(password)).isEqualTo("rw-------");
    assertThat(perms(store.personal())).isEqualTo("rwx------");
    assertThat(perms(store.root())).isEqualTo("rwx------");
    assertThat(Files.readString(password)).doesNotContain("Tr4nsp0rt");
    StoredCertificate found = store.find(thumbprint(leaf)).orElseThrow();
    assertThat(found.privateKey().getEncoded()).isEqualTo(leaf.keys().getPrivate().getEncoded());
    assertThat(found.chain()).containsExactly(leaf.certificate(), root.certificate());
    assertThat(run.out)
        .contains(t, "CN=node-1.example.com", "vigil protect use --thumbprint " + t)
        .doesNotContain("Tr4nsp0rt");
    assertThat(store.personal().toFile().list())
        .containsExactlyInAnyOrder(t + ".p12", t + ".p12.password");
  }

  @Test
  void importsPemWithTheKeyInASeparateFile() throws Exception {
    Path crt = write(inbox.resolve("node.crt"), pem(leaf.certificate(), root.certificate()));
    Path key = write(inbox.resolve("node.key"), pemKey(leaf.keys()));

    Run run = vigil("protect", "import-cert", crt.toString(), "--key", key.toString());

    assertThat(run.exit).as(run.err).isZero();
    String t = thumbprint(leaf).hex();
    assertThat(perms(store.personal().resolve(t + ".key"))).isEqualTo("rw-------");
    assertThat(perms(store.personal().resolve(t + ".crt"))).isEqualTo("rw-------");
    StoredCertificate found = store.find(thumbprint(leaf)).orElseThrow();
    assertThat(found.privateKey().getEncoded()).isEqualTo(leaf.keys().getPrivate().getEncoded());
    assertThat(found.chain()).containsExactly(leaf.certificate(), root.certificate());
  }

  @Test
  void pemWithTheKeyInTheSameFileIsStoredLeafFirstWhateverTheOrder() {
    Path bundle =
        write(
            inbox.resolve("bundle.pem"),
            pem(root.certificate()) + pemKey(leaf.keys()) + pem(leaf.certificate()));

    Run run = vigil("protect", "import-cert", bundle.toString());

    assertThat(run.exit).as(run.err).isZero();
    assertThat(store.find(thumbprint(leaf)).orElseThrow().chain())
        .containsExactly(leaf.certificate(), root.certificate());
  }

  @Test
  void importsAnEcKeyPair() {
    var keys = CliTestCertificates.ec();
    Instant now = Instant.now();
    Issued ec =
        CliTestCertificates.selfSigned(
            "ec.example.com", now.minusSeconds(60), now.plus(Duration.ofDays(90)), false, keys);
    Path crt = write(inbox.resolve("ec.pem"), pem(ec.certificate()) + pemKey(keys));

    Run run = vigil("protect", "import-cert", crt.toString());

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).contains("EC 256");
    assertThat(store.find(thumbprint(ec)).orElseThrow().privateKey().getAlgorithm())
        .isEqualTo("EC");
  }

  @Test
  void reimportingTheSameCertificateChangesNothing() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("node.p12"), leaf, List.of(root.certificate()), "pw");
    Path pass = passwordFile("pw");
    assertThat(
            vigil(
                    "protect",
                    "import-cert",
                    p12.toString(),
                    "--password-file",
                    pass.toString(),
                    "--trusted")
                .exit)
        .isZero();
    Path stored = store.personal().resolve(thumbprint(leaf).hex() + ".p12");
    byte[] before = Files.readAllBytes(stored);
    var modified = Files.getLastModifiedTime(stored);

    Run again =
        vigil(
            "protect",
            "import-cert",
            p12.toString(),
            "--password-file",
            pass.toString(),
            "--trusted");

    assertThat(again.exit).as(again.err).isZero();
    assertThat(again.out).contains("already in").contains("Trusted on this machine already");
    assertThat(Files.readAllBytes(stored)).isEqualTo(before);
    assertThat(Files.getLastModifiedTime(stored)).isEqualTo(modified);
    assertThat(store.list()).hasSize(1);
    assertThat(store.trusted().toFile().list()).hasSize(1);
  }

  @Test
  void trustedCopiesTheSelfSignedRootAtTheEndOfTheChain() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("node.p12"), leaf, List.of(root.certificate()), "");

    Run run = vigil("protect", "import-cert", p12.toString(), "--trusted");

    assertThat(run.exit).as(run.err).isZero();
    Path trusted = store.trusted().resolve(thumbprint(root).hex() + ".crt");
    assertThat(Files.readString(trusted)).isEqualTo(pem(root.certificate()));
    assertThat(perms(trusted)).isEqualTo("rw-------");
    assertThat(store.untrustedReason(store.find(thumbprint(leaf)).orElseThrow())).isEmpty();
    assertThat(run.out).contains("Trusted on this machine: CN=Vigil Test Root");
  }

  @Test
  void aCaCertificateWithoutKeyIsTrustedOnlyWithTrusted() throws Exception {
    Path ca = write(inbox.resolve("ca.crt"), pem(root.certificate()));

    Run refused = vigil("protect", "import-cert", ca.toString());

    assertThat(refused.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(refused.err).contains("no private key", "--trusted").endsWith("(no_private_key)\n");
    assertThat(storeIsEmpty()).isTrue();

    Run run = vigil("protect", "import-cert", ca.toString(), "--trusted");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(store.trusted().resolve(thumbprint(root).hex() + ".crt")).exists();
    assertThat(store.personal()).doesNotExist();
  }

  @Test
  void aDerCertificateIsReadToo() throws Exception {
    Path der = inbox.resolve("ca.cer");
    Files.createDirectories(inbox);
    Files.write(der, root.certificate().getEncoded());

    Run run = vigil("protect", "import-cert", der.toString(), "--trusted");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(store.trustedRoots()).contains(root.certificate());
  }

  // ---- import-cert: refusals, with nothing written

  @Test
  void wrongPasswordIsRefusedAndNothingIsWritten() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("node.p12"), leaf, List.of(), "right");

    Run run =
        vigil(
            "protect",
            "import-cert",
            p12.toString(),
            "--password-file",
            passwordFile("wrong").toString(),
            "--trusted");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines())
        .singleElement()
        .asString()
        .contains("wrong password", "p12.pass", "Nothing was written")
        .endsWith("(wrong_password)")
        .doesNotContain("right");
    assertThat(run.out).isEmpty();
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aPasswordProtectedFileWithoutPasswordFileAsksForOne() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("node.p12"), leaf, List.of(), "secret");

    Run run = vigil("protect", "import-cert", p12.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .contains("--password-file", "never the password itself on the command line");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aKeyThatDoesNotMatchTheCertificateIsRefused() throws Exception {
    Path crt = write(inbox.resolve("node.crt"), pem(leaf.certificate()));
    Path key = write(inbox.resolve("other.key"), pemKey(other.keys()));

    Run run = vigil("protect", "import-cert", crt.toString(), "--key", key.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .contains("does not belong to the certificate CN=node-1.example.com")
        .endsWith("(key_mismatch)\n");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aKeyOfAnotherAlgorithmDoesNotMatchEither() throws Exception {
    Path crt = write(inbox.resolve("node.crt"), pem(leaf.certificate()));
    Path key = write(inbox.resolve("ec.key"), pemKey(CliTestCertificates.ec()));

    Run run = vigil("protect", "import-cert", crt.toString(), "--key", key.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).endsWith("(key_mismatch)\n");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aFileWithoutCertificateIsRefused() throws Exception {
    Path keyOnly = write(inbox.resolve("only.pem"), pemKey(leaf.keys()));

    Run run = vigil("protect", "import-cert", keyOnly.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("holds no certificate").endsWith("(no_certificate)\n");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aMissingFileIsNotFoundAndGarbageIsUnreadable() throws Exception {
    Run missing = vigil("protect", "import-cert", inbox.resolve("nope.p12").toString());
    assertThat(missing.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(missing.err).contains("nope.p12").endsWith("(file_not_found)\n");

    Path garbage = write(inbox.resolve("garbage.bin"), "this is not a certificate at all");
    Run run = vigil("protect", "import-cert", garbage.toString());
    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("not a PKCS#12").endsWith("(unreadable_certificate)\n");
    assertThat(run.err).doesNotContain("\tat ");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void anEncryptedPemKeyIsRefusedWithTheConversionCommand() throws Exception {
    Path crt = write(inbox.resolve("node.crt"), pem(leaf.certificate()));
    Path key = write(inbox.resolve("node.key"), pem("ENCRYPTED PRIVATE KEY", new byte[] {1, 2, 3}));

    Run run = vigil("protect", "import-cert", crt.toString(), "--key", key.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("openssl pkcs8 -topk8 -nocrypt").endsWith("(unsupported_key)\n");
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void aPasswordFileForAPemCertificateIsAUsageError() throws Exception {
    Path crt = write(inbox.resolve("node.pem"), pem(leaf.certificate()) + pemKey(leaf.keys()));

    Run run =
        vigil(
            "protect",
            "import-cert",
            crt.toString(),
            "--password-file",
            passwordFile("x").toString());

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(storeIsEmpty()).isTrue();
  }

  @Test
  void onWindowsTheAdviceNamesWindowsOwnTools() {
    assertThat(ProtectCommand.windows("Windows Server 2022")).isTrue();
    assertThat(ProtectCommand.windows("Linux")).isFalse();
    assertThat(ProtectCommand.windowsAdvice(Path.of("node.pfx"), true))
        .contains(
            "certlm.msc",
            "Import-PfxCertificate",
            "Cert:\\LocalMachine\\My",
            "Cert:\\LocalMachine\\Root");
  }

  // ---- list-certs

  @Test
  void listShowsASelfSignedCertificateAsUntrustedUntilImportedWithTrusted() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("dp.p12"), selfSigned, List.of(), "");
    assertThat(vigil("protect", "import-cert", p12.toString()).exit).isZero();
    String t = thumbprint(selfSigned).hex();

    Run before = vigil("protect", "list-certs");

    assertThat(before.exit).as(before.err).isZero();
    assertThat(row(before.out, t)).contains("CN=dp.example.com", "  no  ", "readable", "RSA 2048");
    assertThat(before.out).contains(t + " not trusted: it is self-signed");

    assertThat(vigil("protect", "import-cert", p12.toString(), "--trusted").exit).isZero();
    Run after = vigil("protect", "list-certs");

    assertThat(row(after.out, t)).contains("  yes  ").doesNotContain("  no  ");
    assertThat(after.out).doesNotContain("not trusted");
  }

  @Test
  void listShowsAnUnreadableKeyAsNotReadableAndUnreadableEntriesWithTheirCause() throws Exception {
    // A certificate whose key file is missing, and a PKCS#12 file whose password file is wrong.
    write(store.personal().resolve("orphan.crt"), pem(other.certificate()));
    writePkcs12(store.personal().resolve("locked.p12"), leaf, List.of(), "right");
    write(store.personal().resolve("locked.p12.password"), "wrong");

    Run run = vigil("protect", "list-certs");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(row(run.out, thumbprint(other).hex())).contains("not readable");
    assertThat(run.out)
        .contains(thumbprint(other).hex() + " private key: there is no private key file")
        .contains("Entries that cannot be read:")
        .contains("locked.p12: the password in");
  }

  @Test
  void listJsonHasEveryFactAndTheUseInAppsettings() throws Exception {
    Path p12 = writePkcs12(inbox.resolve("dp.p12"), selfSigned, List.of(), "");
    assertThat(vigil("protect", "import-cert", p12.toString(), "--trusted").exit).isZero();
    String t = thumbprint(selfSigned).hex();
    write(
        dataDir.resolve("appsettings.json"),
        "{\"DataProtectionSettings\":{\"ProtectKeysWithCertificate\":{\"Thumbprint\":\""
            + t.toLowerCase()
            + "\"}},\"Http\":{\"Tls\":{\"Thumbprint\":\""
            + t
            + "\"}}}");

    Run run = vigil("protect", "list-certs", "--json");

    assertThat(run.exit).as(run.err).isZero();
    JsonNode body = Json.MAPPER.readTree(run.out);
    JsonNode cert = body.path("certificates").get(0);
    assertThat(cert.path("thumbprint").asText()).isEqualTo(t);
    assertThat(cert.path("subject").asText()).isEqualTo("CN=dp.example.com");
    assertThat(cert.path("trusted").asBoolean()).isTrue();
    assertThat(cert.path("privateKeyReadable").asBoolean()).isTrue();
    assertThat(cert.path("keyType").asText()).isEqualTo("RSA 2048");
    assertThat(cert.path("daysLeft").asLong()).isBetween(363L, 365L);
    assertThat(cert.path("uses").toString()).isEqualTo("[\"data protection\",\"TLS\"]");
    assertThat(body.path("unreadable")).isEmpty();
  }

  @Test
  void listOfAnEmptyStoreSaysHowToImport() {
    Run run = vigil("protect", "list-certs");

    assertThat(run.exit).isZero();
    assertThat(run.out).contains("No certificates in", "vigil protect import-cert FILE");
  }

  @Test
  void protectWithoutSubcommandListsThem() {
    Run run = new Run().exec("protect");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("import-cert, list-certs, use, status");
  }

  static String row(String table, String thumbprint) {
    return table
        .lines()
        .filter(l -> l.startsWith(thumbprint))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no row for " + thumbprint + " in:\n" + table));
  }
}
