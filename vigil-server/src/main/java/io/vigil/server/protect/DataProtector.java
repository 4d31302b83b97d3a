package io.vigil.server.protect;

/**
 * Encrypts secrets at rest. Every secret Vigil stores (identity provider signing keys, client
 * secrets, device passwords, external provider secrets) goes through one of these.
 *
 * <p>The {@code purpose} is bound to the ciphertext as associated data: data protected for one
 * purpose cannot be unprotected as another. Use a stable, specific string per kind of secret, such
 * as {@code "identity.signing-key"}.
 */
public interface DataProtector {

  /** Encrypts {@code plaintext} with the current data key. */
  byte[] protect(String purpose, byte[] plaintext);

  /**
   * Decrypts data produced by {@link #protect} with the same purpose, with whichever key of the
   * ring encrypted it.
   *
   * @throws ProtectionException naming the key, the protector and the fix when the data cannot be
   *     opened (wrong purpose, tampered, key missing or not unwrappable on this machine)
   */
  byte[] unprotect(String purpose, byte[] protectedData);
}
