package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.db.Database;
import io.vigil.server.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyRingTest {

  private static final Duration LIFETIME = Duration.ofDays(90);
  private static final byte[] SECRET =
      "correct horse battery staple".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;
  private Database db;
  private MutableClock clock;
  private MachineProtector machine;

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
    clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    machine = MachineProtector.open(dir.resolve("machine.key"));
  }

  @AfterEach
  void tearDown() {
    db.close();
  }

  private KeyRing ring() {
    return new KeyRing(db.jdbi(), machine, List.of(), LIFETIME, clock);
  }

  @Test
  void roundTripReturnsThePlaintext() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    assertThat(ring.unprotect("test.secret", sealed)).isEqualTo(SECRET);
    assertThat(ring.unprotect("test.secret", ring.protect("test.secret", new byte[0]))).isEmpty();
  }

  @Test
  void ciphertextCarriesVersionAndKeyIdAndHidesThePlaintext() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    UUID keyId = ring.keys().getFirst().id();
    assertThat(sealed[0]).isEqualTo((byte) 1);
    assertThat(Arrays.copyOfRange(sealed, 1, 17)).isEqualTo(MachineProtector.uuidBytes(keyId));
    assertThat(sealed).hasSize(1 + 16 + 12 + SECRET.length + 16);
    assertThat(indexOf(sealed, SECRET)).isEqualTo(-1);
  }

  @Test
  void samePlaintextGivesDifferentCiphertexts() {
    KeyRing ring = ring();
    byte[] a = ring.protect("test.secret", SECRET);
    byte[] b = ring.protect("test.secret", SECRET);
    assertThat(a).isNotEqualTo(b);
    assertThat(Arrays.copyOfRange(a, 17, 29)).isNotEqualTo(Arrays.copyOfRange(b, 17, 29));
  }

  @Test
  void openingWithAnotherPurposeFailsNamingThePurpose() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("identity.signing-key", SECRET);
    assertThatThrownBy(() -> ring.unprotect("device.password", sealed))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining(
            "was not protected for purpose \"device.password\" or has been altered")
        .hasMessageContaining(ring.keys().getFirst().id().toString());
  }

  @Test
  void flippingAnyByteIsDetected() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    // Every region: the key id is covered by the tag as associated data, the nonce and the body by
    // GCM itself. (Byte 0 is the version, checked before decryption.)
    for (int i : new int[] {5, 20, sealed.length / 2 + 10, sealed.length - 1}) {
      byte[] tampered = sealed.clone();
      tampered[i] ^= 0x01;
      assertThatThrownBy(() -> ring.unprotect("test.secret", tampered))
          .as("byte %d flipped", i)
          .isInstanceOf(ProtectionException.class);
    }
    byte[] bodyFlipped = sealed.clone();
    bodyFlipped[30] ^= 0x40;
    assertThatThrownBy(() -> ring.unprotect("test.secret", bodyFlipped))
        .hasMessageContaining("or has been altered");
  }

  @Test
  void truncatedInputFailsWithItsLength() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    assertThatThrownBy(() -> ring.unprotect("test.secret", Arrays.copyOf(sealed, 40)))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("is 40 bytes long, shorter than the 45 bytes")
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> ring.unprotect("test.secret", new byte[0]))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("is 0 bytes long");
    // Cut inside the tag: long enough to parse, so GCM catches it.
    assertThatThrownBy(
            () -> ring.unprotect("test.secret", Arrays.copyOf(sealed, sealed.length - 1)))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("or has been altered");
  }

  @Test
  void unknownVersionFailsNamingTheVersion() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    sealed[0] = 7;
    assertThatThrownBy(() -> ring.unprotect("test.secret", sealed))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("format version 7")
        .hasMessageContaining("reads only version 1");
  }

  @Test
  void unknownKeyIdFailsNamingTheKey() {
    KeyRing ring = ring();
    byte[] sealed = ring.protect("test.secret", SECRET);
    UUID other = UUID.randomUUID();
    System.arraycopy(MachineProtector.uuidBytes(other), 0, sealed, 1, 16);
    assertThatThrownBy(() -> ring.unprotect("test.secret", sealed))
        .isInstanceOf(ProtectionException.class)
        .hasMessageContaining("key " + other)
        .hasMessageContaining("not in the key ring");
  }

  @Test
  void blankPurposeIsRejected() {
    KeyRing ring = ring();
    assertThatThrownBy(() -> ring.protect(" ", SECRET))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("purpose is required");
  }

  @Test
  void afterTheLifetimeANewKeyIsUsedAndOldDataStillDecrypts() {
    KeyRing ring = ring();
    byte[] old = ring.protect("test.secret", SECRET);
    UUID first = keyIdOf(old);

    clock.advance(Duration.ofDays(30));
    assertThat(keyIdOf(ring.protect("test.secret", SECRET))).isEqualTo(first);
    assertThat(ring.keys()).hasSize(1);

    // Within two days of expiry: the successor is made, activating when the first key expires.
    clock.advance(Duration.ofDays(59));
    assertThat(keyIdOf(ring.protect("test.secret", SECRET))).isEqualTo(first);
    List<KeyRing.KeyInfo> keys = ring.keys();
    assertThat(keys).hasSize(2);
    assertThat(keys.get(1).activatesAt()).isEqualTo(keys.get(0).expiresAt());
    assertThat(keys.get(1).expiresAt()).isEqualTo(keys.get(0).expiresAt().plus(LIFETIME));

    clock.advance(Duration.ofDays(1));
    byte[] fresh = ring.protect("test.secret", SECRET);
    assertThat(keyIdOf(fresh)).isEqualTo(keys.get(1).id());
    assertThat(ring.unprotect("test.secret", old)).isEqualTo(SECRET);
    assertThat(ring.unprotect("test.secret", fresh)).isEqualTo(SECRET);

    // A new instance (a restart) still reads data of the expired key.
    KeyRing restarted = ring();
    assertThat(restarted.unprotect("test.secret", old)).isEqualTo(SECRET);
  }

  @Test
  void neverEncryptsWithAnExpiredKey() {
    KeyRing ring = ring();
    UUID first = keyIdOf(ring.protect("test.secret", SECRET));
    // Nobody protected anything during the last days of the key, so no successor was lined up.
    clock.advance(LIFETIME.plusDays(3));
    byte[] sealed = ring.protect("test.secret", SECRET);
    UUID second = keyIdOf(sealed);
    assertThat(second).isNotEqualTo(first);
    KeyRing.KeyInfo info =
        ring.keys().stream().filter(k -> k.id().equals(second)).findFirst().orElseThrow();
    assertThat(info.activatesAt()).isEqualTo(clock.instant());
    assertThat(info.expiresAt()).isAfter(clock.instant());
    // Many short steps across several lifetimes: every key used was active at the time.
    for (int day = 0; day < 400; day++) {
      clock.advance(Duration.ofHours(23));
      UUID used = keyIdOf(ring.protect("test.secret", SECRET));
      KeyRing.KeyInfo k =
          ring.keys().stream().filter(i -> i.id().equals(used)).findFirst().orElseThrow();
      assertThat(clock.instant()).isBetween(k.activatesAt(), k.expiresAt().minusNanos(1));
    }
    // One key per lifetime and no duplicates: days 0, 93, 183, 273, 363 and 453.
    assertThat(ring.keys()).hasSize(6);
  }

  @Test
  void revokedKeyIsNotUsedForNewDataButStillDecrypts() throws Exception {
    KeyRing ring = ring();
    byte[] old = ring.protect("test.secret", SECRET);
    UUID first = keyIdOf(old);
    db.jdbi().useHandle(h -> h.execute("UPDATE data_protection_keys SET revoked = TRUE"));
    KeyRing other = ring();
    byte[] fresh = other.protect("test.secret", SECRET);
    assertThat(keyIdOf(fresh)).isNotEqualTo(first);
    assertThat(other.unprotect("test.secret", old)).isEqualTo(SECRET);
  }

  @Test
  void keysAreStoredOnlyWrapped() throws Exception {
    KeyRing ring = ring();
    byte[] secret = "a-very-recognisable-client-secret-4711".getBytes(StandardCharsets.UTF_8);
    ring.protect("test.secret", secret);
    clock.advance(Duration.ofDays(89));
    ring.protect("test.secret", secret); // makes the successor too

    List<byte[]> rawKeys = new ArrayList<>();
    List<byte[]> cells = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT * FROM data_protection_keys")) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        UUID id = rs.getObject("id", UUID.class);
        rawKeys.add(machine.unwrap(id, rs.getBytes("wrapped_key")));
        for (int i = 1; i <= columns; i++) {
          Object value = rs.getObject(i);
          cells.add(
              value instanceof byte[] bytes
                  ? bytes
                  : String.valueOf(value).getBytes(StandardCharsets.UTF_8));
        }
      }
    }
    assertThat(cells).hasSize(2 * 7);
    assertThat(rawKeys).hasSize(2).allSatisfy(k -> assertThat(k).hasSize(32));
    for (byte[] cell : cells) {
      assertThat(indexOf(cell, secret)).isEqualTo(-1);
      for (byte[] key : rawKeys) {
        assertThat(indexOf(cell, key)).isEqualTo(-1);
        assertThat(indexOf(cell, java.util.HexFormat.of().formatHex(key).getBytes())).isEqualTo(-1);
      }
    }
  }

  @Test
  void twoRingsCreatingTheFirstKeyAtOnceShareOneKey() throws Exception {
    for (int round = 0; round < 5; round++) {
      db.jdbi().useHandle(h -> h.execute("DELETE FROM data_protection_keys"));
      KeyRing a = ring();
      KeyRing b = ring();
      CountDownLatch go = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<byte[]> fromA =
            pool.submit(
                () -> {
                  go.await();
                  return a.protect("test.secret", SECRET);
                });
        Future<byte[]> fromB =
            pool.submit(
                () -> {
                  go.await();
                  return b.protect("test.secret", SECRET);
                });
        go.countDown();
        assertThat(b.unprotect("test.secret", fromA.get())).isEqualTo(SECRET);
        assertThat(a.unprotect("test.secret", fromB.get())).isEqualTo(SECRET);
        assertThat(a.keys()).hasSize(1);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void keysListsEachKeyAndWhetherItUnwrapsHere() {
    KeyRing ring = ring();
    ring.protect("test.secret", SECRET);
    MachineProtector other = MachineProtector.open(dir.resolve("other").resolve("machine.key"));
    KeyRing elsewhere = new KeyRing(db.jdbi(), other, List.of(), LIFETIME, clock);

    KeyRing.KeyInfo here = ring.keys().getFirst();
    assertThat(here.protectorId()).isEqualTo(machine.id());
    assertThat(here.createdAt()).isEqualTo(clock.instant());
    assertThat(here.activatesAt()).isEqualTo(clock.instant());
    assertThat(here.expiresAt()).isEqualTo(clock.instant().plus(LIFETIME));
    assertThat(here.unwrapsHere()).isTrue();
    assertThat(here.problem()).isEmpty();

    KeyRing.KeyInfo there = elsewhere.keys().getFirst();
    assertThat(there.unwrapsHere()).isFalse();
    assertThat(there.problem())
        .get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("another machine");
  }

  @Test
  void anUnwrapOnlyProtectorReadsKeysItWrapped() {
    byte[] sealed = ring().protect("test.secret", SECRET);
    MachineProtector newer = MachineProtector.open(dir.resolve("newer").resolve("machine.key"));
    KeyRing ring = new KeyRing(db.jdbi(), newer, List.of(machine), LIFETIME, clock);
    assertThat(ring.unprotect("test.secret", sealed)).isEqualTo(SECRET);
  }

  @Test
  void lifetimeShorterThanAWeekIsRejected() {
    assertThatThrownBy(() -> new KeyRing(db.jdbi(), machine, List.of(), Duration.ofDays(3), clock))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 7 days");
  }

  static UUID keyIdOf(byte[] sealed) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(sealed, 1, 16);
    return new UUID(b.getLong(), b.getLong());
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
