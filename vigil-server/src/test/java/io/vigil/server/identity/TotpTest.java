package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.testing.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TotpTest {

  /** RFC 6238 Appendix B: the SHA-1 seed. */
  private static final byte[] SEED = "12345678901234567890".getBytes(StandardCharsets.US_ASCII);

  private final MutableClock clock = new MutableClock(Instant.ofEpochSecond(59));

  @Test
  void rfc6238AppendixBVectorsTruncatedToSixDigits() {
    // The RFC lists 8-digit values; a 6-digit code is the same number modulo 10^6 (RFC 4226 5.3).
    long[] times = {59L, 1111111109L, 1111111111L, 1234567890L, 2000000000L, 20000000000L};
    String[] expected = {"287082", "081804", "050471", "005924", "279037", "353130"};
    for (int i = 0; i < times.length; i++) {
      Instant t = Instant.ofEpochSecond(times[i]);
      assertThat(Totp.code(SEED, Totp.step(t))).as("T = %d", times[i]).isEqualTo(expected[i]);
      assertThat(Totp.verify(SEED, expected[i], t, Long.MIN_VALUE))
          .isEqualTo(OptionalLong.of(Totp.step(t)));
    }
  }

  @Test
  void aCodeIsAcceptedOneStepEitherSideAndNotTwo() {
    clock.advance(Duration.ofSeconds(1111111109L - 59));
    String code = Totp.code(SEED, Totp.step(clock.instant()));
    long step = Totp.step(clock.instant());

    clock.advance(Duration.ofSeconds(-30));
    assertThat(Totp.verify(SEED, code, clock.instant(), 0)).isEqualTo(OptionalLong.of(step));
    clock.advance(Duration.ofSeconds(60));
    assertThat(Totp.verify(SEED, code, clock.instant(), 0)).isEqualTo(OptionalLong.of(step));
    clock.advance(Duration.ofSeconds(30));
    assertThat(Totp.verify(SEED, code, clock.instant(), 0)).isEmpty();
    clock.advance(Duration.ofSeconds(-120));
    assertThat(Totp.verify(SEED, code, clock.instant(), 0)).isEmpty();
  }

  @Test
  void aCodeOfAStepAlreadyUsedOrEarlierIsRefused() {
    clock.advance(Duration.ofSeconds(1234567890L - 59));
    long step = Totp.step(clock.instant());
    String now = Totp.code(SEED, step);
    String previous = Totp.code(SEED, step - 1);
    String next = Totp.code(SEED, step + 1);

    assertThat(Totp.verify(SEED, now, clock.instant(), step - 5)).hasValue(step);
    // Used: the same code again, and the older code of the window, are refused.
    assertThat(Totp.verify(SEED, now, clock.instant(), step)).isEmpty();
    assertThat(Totp.verify(SEED, previous, clock.instant(), step)).isEmpty();
    // The next step's code still works, once.
    assertThat(Totp.verify(SEED, next, clock.instant(), step)).hasValue(step + 1);
    assertThat(Totp.verify(SEED, next, clock.instant(), step + 1)).isEmpty();
  }

  @Test
  void onlySixDigitsAreACode() {
    Instant t = Instant.ofEpochSecond(59);
    for (String bad : new String[] {null, "", "28708", "2870822", "28708a", " 287082", "２８７０８２"}) {
      assertThat(Totp.verify(SEED, bad, t, Long.MIN_VALUE)).as("%s", bad).isEmpty();
    }
  }

  @Test
  void base32RoundTripsAndMatchesRfc4648() {
    // RFC 4648 section 10, without padding.
    assertThat(Base32.encode("foobar".getBytes(StandardCharsets.US_ASCII))).isEqualTo("MZXW6YTBOI");
    assertThat(Base32.encode("f".getBytes(StandardCharsets.US_ASCII))).isEqualTo("MY");
    assertThat(Base32.decode("mzxw6ytboi======")).isEqualTo("foobar".getBytes());
    assertThat(Base32.encode(SEED)).isEqualTo("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assertThat(Base32.decode(Base32.encode(SEED))).isEqualTo(SEED);
    assertThatThrownBy(() -> Base32.decode("MZ1W")).isInstanceOf(IllegalArgumentException.class);
  }
}
