package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.testing.MutableClock;
import io.vigil.server.testing.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The certificate protector across "machines": each machine is a data directory with its own
 * machine key file and its own certificate store, all on one database.
 */
class CertificateProtectionTest {

  private static final byte[] SECRET = "external-idp-secret".getBytes(StandardCharsets.UTF_8);

  private static TestCertificates.Issued ca;
  private static TestCertificates.Issued certA;
  private static TestCertificates.Issued certB;

  @TempDir Path dir;
  private Database db;
  // Whole seconds: the database stores key times at its own precision.
  private final Clock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));

  @BeforeAll
  static void certificates() {
    ca = TestCertificates.ca("Vigil Test Root");
    certA =
        TestCertificates.builder("vigil-data-protection-a")
            .issuedBy(ca)
            .validUntil(Instant.now().plus(java.time.Duration.ofDays(365)))
            .build();
    certB =
        TestCertificates.builder("vigil-data-protection-b")
            .issuedBy(ca)
            .validUntil(Instant.now().plus(java.time.Duration.ofDays(365)))
            .build();
  }

  @BeforeEach
  void setUp() {
    db =
        Database.open(
            "jdbc:h2:mem:"
                + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1",
            null,
            null,
            4);
  }

  @AfterEach
  void tearDown() {
    db.close();
  }

  /** A machine: its data directory, machine key file and store, with these certificates. */
  private Settings machine(String name, TestCertificates.Issued... certs) {
    Settings settings = new Settings();
    settings.dataDir = dir.resolve(name);
    settings.dataProtection.machineKeyFile = "machine.key";
    FileCertificateStore store = store(settings);
    for (TestCertificates.Issued c : certs) {
      TestCertificates.writePkcs12(store.personal(), c.thumbprint().hex(), c, "pw-" + name);
    }
    TestCertificates.writeTrusted(
        store.trusted(), Thumbprint.of(ca.certificate()).hex(), ca.certificate());
    return settings;
  }

  private static FileCertificateStore store(Settings settings) {
    return new FileCertificateStore(FileCertificateStore.defaultRoot(settings.dataDir));
  }

  private static Settings use(Settings settings, TestCertificates.Issued cert) {
    settings.dataProtection.protectKeysWithCertificate.thumbprint =
        cert.thumbprint().hex().toLowerCase().replaceAll("(..)", "$1:");
    return settings;
  }

  private KeyRing open(Settings settings) {
    return DataProtection.open(settings, db, clock, store(settings));
  }

  @Test
  void twoMachinesWithOneCertificateReadEachOthersSecrets() {
    KeyRing a = open(use(machine("a", certA), certA));
    byte[] sealed = a.protect("p", SECRET);
    assertThat(a.keys())
        .allSatisfy(
            k -> assertThat(k.protectorId()).isEqualTo("certificate:" + certA.thumbprint()));

    KeyRing b = open(use(machine("b", certA), certA));
    assertThat(b.unprotect("p", sealed)).isEqualTo(SECRET);
  }

  @Test
  void switchingFromTheMachineKeyToACertificateRewrapsWithoutReentry() {
    Settings a = machine("a", certA);
    byte[] sealed = open(a).protect("p", SECRET);

    KeyRing switched = open(use(a, certA));
    assertThat(switched.keys())
        .allSatisfy(
            k -> assertThat(k.protectorId()).isEqualTo("certificate:" + certA.thumbprint()));
    assertThat(switched.unprotect("p", sealed)).isEqualTo(SECRET);

    // Another machine, with another machine key file, now reads the same secret.
    assertThat(open(use(machine("b", certA), certA)).unprotect("p", sealed)).isEqualTo(SECRET);
  }

  @Test
  void switchingToASecondCertificateRewrapsWithTheOldOneListedForUnwrapping() {
    Settings a = use(machine("a", certA, certB), certA);
    byte[] sealed = open(a).protect("p", SECRET);

    use(a, certB).dataProtection.protectKeysWithCertificate.olderThumbprints =
        List.of(certA.thumbprint().hex());
    KeyRing switched = open(a);
    assertThat(switched.keys())
        .allSatisfy(
            k -> assertThat(k.protectorId()).isEqualTo("certificate:" + certB.thumbprint()));

    // A machine that only ever had certificate B reads what certificate A protected.
    assertThat(open(use(machine("b", certB), certB)).unprotect("p", sealed)).isEqualTo(SECRET);
  }

  @Test
  void keysFromAnotherMachinesKeyFileNameTheSecretsToReenter() {
    KeyRing a = open(machine("a"));
    insertClient("rs1-client", a.protect("identity.client-secret", SECRET));
    UUID key = a.keys().getFirst().id();

    Settings b = use(machine("b", certA), certA);
    assertThatThrownBy(() -> open(b))
        .isInstanceOfSatisfying(
            DataProtection.UnusableKeysException.class,
            e -> {
              assertThat(e.keys()).extracting(KeyRing.KeyInfo::id).containsExactly(key);
              assertThat(e.secrets())
                  .extracting(ProtectedSecrets.Secret::description)
                  .containsExactly("client secret of client rs1-client");
            })
        .hasMessageContaining("cannot unwrap 1 data protection key")
        .hasMessageContaining(key.toString())
        .hasMessageContaining("client secret of client rs1-client")
        .hasMessageContaining("vigil protect use --thumbprint");
  }

  @Test
  void thumbprintNotInTheStoreIsRefusedNamingWhatTheStoreHolds() {
    Settings settings = use(machine("a", certB), certA);
    assertThatThrownBy(() -> open(settings))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.CERTIFICATE_NOT_FOUND))
        .hasMessageContaining(certA.thumbprint().hex())
        .hasMessageContaining(certB.thumbprint().hex())
        .hasMessageContaining("vigil protect import-cert");
    assertThat(settings.dataDir.resolve("machine.key")).doesNotExist();
  }

  @Test
  void expiredCertificateIsRefusedWithItsExpiryAndTheFix() {
    Instant now = Instant.now();
    var expired =
        TestCertificates.builder("vigil-expired")
            .validFrom(now.minus(Duration.ofDays(400)))
            .validUntil(now.minus(Duration.ofDays(1)))
            .build();
    Settings settings = use(machine("a", expired), expired);
    TestCertificates.writeTrusted(
        store(settings).trusted(),
        Thumbprint.of(expired.certificate()).hex(),
        expired.certificate());
    assertThatThrownBy(() -> open(settings))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.CERTIFICATE_EXPIRED))
        .hasMessageContaining("CN=vigil-expired")
        .hasMessageContaining(expired.thumbprint().hex())
        .hasMessageContaining("expired on")
        .hasMessageContaining("Renew it");
  }

  @Test
  void certificateNotYetValidIsRefused() {
    Instant now = Instant.now();
    var future =
        TestCertificates.builder("vigil-future")
            .validFrom(now.plus(Duration.ofDays(2)))
            .validUntil(now.plus(Duration.ofDays(400)))
            .build();
    Settings settings = use(machine("a", future), future);
    TestCertificates.writeTrusted(
        store(settings).trusted(), Thumbprint.of(future.certificate()).hex(), future.certificate());
    assertThatThrownBy(() -> open(settings))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.CERTIFICATE_NOT_YET_VALID))
        .hasMessageContaining("is not valid until")
        .hasMessageContaining("clock");
  }

  @Test
  void untrustedSelfSignedCertificateIsRefusedUntilItIsTrusted() {
    var own =
        TestCertificates.builder("vigil-self-signed")
            .validUntil(Instant.now().plus(java.time.Duration.ofDays(365)))
            .build();
    Settings settings = use(machine("a", own), own);
    assertThatThrownBy(() -> open(settings))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.CERTIFICATE_UNTRUSTED))
        .hasMessageContaining("is not trusted on this machine")
        .hasMessageContaining("self-signed")
        .hasMessageContaining("--trusted");

    TestCertificates.writeTrusted(
        store(settings).trusted(), Thumbprint.of(own.certificate()).hex(), own.certificate());
    assertThat(open(settings).protector().id()).isEqualTo("certificate:" + own.thumbprint());
  }

  @Test
  void missingPrivateKeySaysKeysetDoesNotExist() throws Exception {
    Settings settings = machine("a");
    FileCertificateStore store = store(settings);
    TestCertificates.writePem(store.personal(), "dp", certA);
    Files.delete(store.personal().resolve("dp.key"));
    assertThatThrownBy(() -> open(use(settings, certA)))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.PRIVATE_KEY_UNREADABLE))
        .hasMessageStartingWith("Keyset does not exist")
        .hasMessageContaining(certA.thumbprint().hex())
        .hasMessageContaining("CN=vigil-data-protection-a")
        .hasMessageContaining("dp.key");
  }

  @Test
  void wrongPkcs12PasswordNamesThePasswordFile() throws Exception {
    Settings settings = use(machine("a", certA), certA);
    Path p12 = store(settings).personal().resolve(certA.thumbprint().hex() + ".p12");
    Files.writeString(FileCertificateStore.passwordFileFor(p12), "not-the-password");
    assertThatThrownBy(() -> open(settings))
        .isInstanceOf(CertificateProblem.class)
        .hasMessageContaining(p12 + ".password")
        .hasMessageContaining("wrong password");
  }

  @Test
  void aKeyThatDoesNotMatchItsCertificateIsRefused() throws Exception {
    Settings settings = machine("a");
    FileCertificateStore store = store(settings);
    TestCertificates.writePem(store.personal(), "dp", certA);
    TestCertificates.writePem(store.personal(), "other", certB);
    Files.copy(
        store.personal().resolve("other.key"),
        store.personal().resolve("dp.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> open(use(settings, certA)))
        .isInstanceOfSatisfying(
            CertificateProblem.class,
            e -> assertThat(e.code()).isEqualTo(CertificateProblem.Code.CERTIFICATE_UNSUITABLE))
        .hasMessageContaining("does not belong to that certificate");
  }

  @Test
  void wrappedKeysAreBoundToTheirKeyId() {
    CertificateProtector p =
        CertificateProtector.open(
            store(machine("a", certA)),
            certA.thumbprint(),
            Instant.now(),
            CertificateProtector.Use.CURRENT);
    UUID one = UUID.randomUUID();
    byte[] wrapped = p.wrap(one, new byte[32]);
    assertThat(p.unwrap(one, wrapped)).hasSize(32);
    assertThatThrownBy(() -> p.unwrap(UUID.randomUUID(), wrapped))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("does not unwrap");
  }

  private void insertClient(String id, byte[] secret) {
    OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO oauth_clients (client_id, client_type, secret_protected, roles,"
                            + " grants, redirect_uris, version, created_at, updated_at) VALUES"
                            + " (:id, 'confidential', :s, 'component', 'client_credentials', '', 1,"
                            + " :t, :t)")
                    .bind("id", id)
                    .bind("s", secret)
                    .bind("t", now)
                    .execute());
  }
}
