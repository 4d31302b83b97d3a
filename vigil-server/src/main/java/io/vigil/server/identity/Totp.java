package io.vigil.server.identity;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.OptionalLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Time-based one-time passwords (RFC 6238) as authenticator apps make them: HMAC-SHA1, {@value
 * #DIGITS} digits, {@value #STEP_SECONDS}-second steps counted from the Unix epoch. A code is
 * accepted for the step it was made in and the steps either side ({@value #WINDOW}), for clocks
 * that differ and people who type slowly.
 *
 * <p>Pure: the time is given, nothing is stored. Replay protection is the caller's: it keeps the
 * last step a user's code was accepted for and passes it in, and a code is accepted only for a
 * later step. So a code cannot be used twice, and an older code of the window no longer works once
 * a newer one was used.
 */
final class Totp {

  static final int DIGITS = 6;
  static final long STEP_SECONDS = 30;
  static final int WINDOW = 1;

  /** The length of a new secret: 160 bits, the HMAC-SHA1 output size RFC 4226 recommends. */
  static final int SECRET_BYTES = 20;

  private Totp() {}

  /** The time step {@code time} falls in. */
  static long step(Instant time) {
    return Math.floorDiv(time.getEpochSecond(), STEP_SECONDS);
  }

  /** The code for {@code step} (RFC 4226 dynamic truncation), zero-padded to {@value #DIGITS}. */
  static String code(byte[] secret, long step) {
    byte[] hash;
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(new SecretKeySpec(secret, "HmacSHA1"));
      hash = mac.doFinal(ByteBuffer.allocate(8).putLong(step).array());
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HMAC-SHA1 is not available in this JDK", e);
    }
    int offset = hash[hash.length - 1] & 0xf;
    int binary =
        ((hash[offset] & 0x7f) << 24)
            | ((hash[offset + 1] & 0xff) << 16)
            | ((hash[offset + 2] & 0xff) << 8)
            | (hash[offset + 3] & 0xff);
    String digits = Integer.toString(binary % 1_000_000);
    return "0".repeat(DIGITS - digits.length()) + digits;
  }

  /** Whether {@code text} has the form of a code: exactly {@value #DIGITS} ASCII digits. */
  static boolean looksLikeCode(String text) {
    return text != null
        && text.length() == DIGITS
        && text.chars().allMatch(c -> c >= '0' && c <= '9');
  }

  /**
   * The step {@code code} is valid for at {@code now}, if it is one of the window and later than
   * {@code lastUsedStep}; empty otherwise. Every step of the window is computed and compared in
   * constant time, so the answer takes as long whichever step matched.
   */
  static OptionalLong verify(byte[] secret, String code, Instant now, long lastUsedStep) {
    if (!looksLikeCode(code)) {
      return OptionalLong.empty();
    }
    byte[] given = code.getBytes(StandardCharsets.US_ASCII);
    long current = step(now);
    long matched = Long.MIN_VALUE;
    for (long step = current - WINDOW; step <= current + WINDOW; step++) {
      boolean equal =
          MessageDigest.isEqual(code(secret, step).getBytes(StandardCharsets.US_ASCII), given);
      if (equal && step > lastUsedStep && matched == Long.MIN_VALUE) {
        matched = step;
      }
    }
    return matched == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(matched);
  }
}
