package io.vigil.server.protect;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A certificate of a {@link CertificateStore}, with access to its private key.
 *
 * <p>The private key is read on each call of {@link #privateKey}, not when the store is listed, so
 * a certificate whose key the service account cannot read can still be listed and named.
 */
public interface StoredCertificate {

  Thumbprint thumbprint();

  /** The certificate itself. */
  X509Certificate certificate();

  /** The certificate followed by the issuers stored with it (may be just the certificate). */
  List<X509Certificate> chain();

  /** Where it lives: a file path or a store alias. */
  String source();

  /**
   * Reads the private key.
   *
   * @throws KeyAccessException when there is none, or the service account cannot read it; the
   *     message says why and names the file
   */
  PrivateKey privateKey();

  /** {@code subject (thumbprint)} for messages. */
  default String describe() {
    return CertificateStore.subject(certificate()) + " (thumbprint " + thumbprint() + ")";
  }

  /** The private key of a stored certificate cannot be read. */
  final class KeyAccessException extends RuntimeException {
    public KeyAccessException(String message) {
      super(message);
    }

    public KeyAccessException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
