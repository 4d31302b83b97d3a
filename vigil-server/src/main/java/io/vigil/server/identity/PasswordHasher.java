package io.vigil.server.identity;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Password hashing with the JDK's PBKDF2-HMAC-SHA256: a 16-byte random salt and a 32-byte hash,
 * encoded as {@code pbkdf2-sha256$<iterations>$<salt>$<hash>} (base64) so that the iteration count
 * can be raised later without invalidating stored hashes: each hash is verified with its own count.
 *
 * <p>{@link #PRODUCTION_ITERATIONS} (600,000, OWASP 2023) is the default; tests pass a lower count
 * through the constructor to stay fast.
 */
public final class PasswordHasher {

  public static final int PRODUCTION_ITERATIONS = 600_000;
  public static final int MIN_PASSWORD_LENGTH = 12;

  private static final String SCHEME = "pbkdf2-sha256";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final int iterations;
  private final String dummyHash;

  public PasswordHasher(int iterations) {
    if (iterations < 1) {
      throw new IllegalArgumentException("PBKDF2 iterations must be positive");
    }
    this.iterations = iterations;
    // A hash of no password, in the stored format: checking a password against it costs the same
    // PBKDF2 work as a real check and never succeeds. Random bytes, so nothing is computed here.
    byte[] salt = new byte[16];
    byte[] nothing = new byte[32];
    RANDOM.nextBytes(salt);
    RANDOM.nextBytes(nothing);
    this.dummyHash =
        String.join(
            "$",
            SCHEME,
            Integer.toString(iterations),
            Base64.getEncoder().withoutPadding().encodeToString(salt),
            Base64.getEncoder().withoutPadding().encodeToString(nothing));
  }

  /** Hashes a password with a fresh salt. */
  public String hash(String password) {
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    byte[] hash = pbkdf2(password, salt, iterations);
    Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
    return SCHEME
        + "$"
        + iterations
        + "$"
        + b64.encodeToString(salt)
        + "$"
        + b64.encodeToString(hash);
  }

  /**
   * Whether {@code password} matches {@code encoded}, compared in constant time. A null {@code
   * encoded} (no such user) still costs one full hash, so response times do not reveal which user
   * names exist.
   */
  public boolean verify(String password, String encoded) {
    String[] parts = (encoded == null ? dummyHash : encoded).split("\\$");
    if (parts.length != 4 || !SCHEME.equals(parts[0])) {
      pbkdf2(password, new byte[16], iterations);
      return false;
    }
    int count = Integer.parseInt(parts[1]);
    Base64.Decoder b64 = Base64.getDecoder();
    byte[] expected = b64.decode(parts[3]);
    byte[] actual = pbkdf2(password, b64.decode(parts[2]), count);
    return MessageDigest.isEqual(expected, actual) && encoded != null;
  }

  /**
   * Checks the password policy.
   *
   * @return null when acceptable, else a message saying what is wrong and how to fix it
   */
  public static String policyViolation(String password) {
    if (password == null || password.isEmpty()) {
      return "A password is required: use at least " + MIN_PASSWORD_LENGTH + " characters.";
    }
    if (password.codePointCount(0, password.length()) < MIN_PASSWORD_LENGTH) {
      return "The password is too short: use at least "
          + MIN_PASSWORD_LENGTH
          + " characters (a passphrase of several words is easiest to remember).";
    }
    if (password.length() > 1024) {
      return "The password is too long: use at most 1024 characters.";
    }
    return null;
  }

  private static byte[] pbkdf2(String password, byte[] salt, int iterations) {
    PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, 256);
    try {
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA256 is not available in this JDK", e);
    } finally {
      spec.clearPassword();
    }
  }
}
