package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataProtectionTest {

  private static final byte[] SECRET = "client-secret-42".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;
  private Database db;
  private final MutableClock clock = new MutableClock(Instant.parse("2031-06-01T12:00:00Z"));

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

  private Settings machine(String name) {
    Settings settings = new Settings();
    settings.dataDir = dir.resolve(name);
    settings.dataProtection.machineKeyFile = "keys/machine.key";
    return settings;
  }

  @Test
  void openCreatesTheFirstKeyAndTheKeyFile() {
    Settings settings = machine("a");
    KeyRing ring = DataProtection.open(settings, db, clock);
    assertThat(settings.dataDir.resolve("keys/machine.key")).exists();
    assertThat(ring.keys()).singleElement().satisfies(k -> assertThat(k.unwrapsHere()).isTrue());
    assertThat(ring.unprotect("p", ring.protect("p", SECRET))).isEqualTo(SECRET);
  }

  @Test
  void restartOnTheSameDatabaseAndKeyFileStillDecrypts() {
    byte[] sealed = DataProtection.open(machine("a"), db, clock).protect("p", SECRET);
    KeyRing restarted = DataProtection.open(machine("a"), db, clock);
    assertThat(restarted.unprotect("p", sealed)).isEqualTo(SECRET);
    assertThat(restarted.keys()).hasSize(1);
  }

  @Test
  void anotherMachineFailsAtStartNamingTheKeyBothProtectorsAndTheFix() {
    KeyRing a = DataProtection.open(machine("a"), db, clock);
    byte[] sealed = a.protect("p", SECRET);
    UUID keyId = KeyRingTest.keyIdOf(sealed);
    Path keyFileB = dir.resolve("b/keys/machine.key");

    assertThatThrownBy(() -> DataProtection.open(machine("b"), db, clock))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("[" + keyId + "] wrapped by " + a.protector().id())
        .hasMessageContaining(MachineProtector.open(keyFileB).id())
        .hasMessageContaining(keyFileB.toString())
        .hasMessageContaining("can be read only on the machine that wrapped them")
        .hasMessageContaining("DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint");

    // And at use, should a ring be built without the start-up check.
    KeyRing b =
        new KeyRing(
            db.jdbi(),
            MachineProtector.open(keyFileB),
            java.util.List.of(),
            java.time.Duration.ofDays(90),
            clock);
    assertThatThrownBy(() -> b.unprotect("p", sealed))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("another machine");
    assertThat(b.keys()).hasSize(1); // it did not quietly make a key of its own
  }

  @Test
  void tooShortLifetimeIsAConfigurationError() {
    Settings settings = machine("a");
    settings.dataProtection.keyLifetimeDays = 2;
    assertThatThrownBy(() -> DataProtection.open(settings, db, clock))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("DataProtectionSettings.KeyLifetimeDays is 2");
  }

  @Test
  void malformedThumbprintIsRefusedBeforeAnyKeyFileIsCreated() {
    Settings settings = machine("a");
    settings.dataProtection.protectKeysWithCertificate.thumbprint = "AB CD";
    assertThatThrownBy(() -> DataProtection.open(settings, db, clock))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ProtectKeysWithCertificate.Thumbprint");
    assertThat(settings.dataDir.resolve("keys/machine.key")).doesNotExist();
  }

  @Test
  void databaseClockDatesTheFirstKey() {
    Instant before = db.now();
    KeyRing ring = DataProtection.open(machine("a"), db);
    Instant after = db.now();
    assertThat(ring.keys().getFirst().createdAt()).isBetween(before, after);
  }
}
