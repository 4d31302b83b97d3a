package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vigil.server.db.Database;
import io.vigil.server.testing.MutableClock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * Protected data ({@code version | key id | nonce | ciphertext + tag}) from fuzzed bytes: {@link
 * KeyRing#unprotect} opens only what the ring protected and throws {@link ProtectionException} for
 * everything else, never another exception.
 *
 * <p>The first byte of an input chooses how the rest is read: with bit 0 set the rest follows the
 * version and the id of the ring's real key, so that the fuzzer also reaches the cipher (the key id
 * is random and would otherwise never be guessed); otherwise the rest is the protected data as it
 * is. Bit 1 chooses the purpose the data is opened for.
 */
@Tag("jazzer")
class ProtectedDataFuzzTest {

  static final String PURPOSE = "fuzz.secret";
  static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);

  private static Path dir;
  private static Database db;
  private static KeyRing ring;
  private static byte[] keyHeader;

  @BeforeAll
  static void createRing() throws IOException {
    dir = Files.createTempDirectory("vigil-protect-fuzz-");
    db =
        Database.open(
            "jdbc:h2:mem:"
                + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1",
            null,
            null,
            2);
    ring =
        new KeyRing(
            db.jdbi(),
            MachineProtector.open(dir.resolve("machine.key")),
            List.of(),
            Duration.ofDays(90),
            new MutableClock(Instant.parse("2030-01-01T00:00:00Z")));
    byte[] sealed = ring.protect(PURPOSE, SECRET);
    keyHeader = Arrays.copyOfRange(sealed, 0, 17);
    assertThat(ring.unprotect(PURPOSE, sealed)).isEqualTo(SECRET);
  }

  @AfterAll
  static void closeRing() throws IOException {
    db.close();
    Files.deleteIfExists(dir.resolve("machine.key"));
    Files.deleteIfExists(dir);
  }

  @FuzzTest(maxDuration = "60s")
  void unprotect(byte[] input) {
    if (input.length == 0) {
      return;
    }
    int mode = input[0];
    byte[] rest = Arrays.copyOfRange(input, 1, input.length);
    byte[] data =
        (mode & 1) == 0
            ? rest
            : ByteBuffer.allocate(keyHeader.length + rest.length).put(keyHeader).put(rest).array();
    String purpose = (mode & 2) == 0 ? PURPOSE : "identity.signing-key";
    try {
      byte[] plain = ring.unprotect(purpose, data);
      throw new AssertionError(
          "Fuzzed bytes opened as protected data (" + plain.length + " bytes of plaintext)");
    } catch (ProtectionException e) {
      assertThat(e.getMessage()).isNotBlank();
    }
  }
}
