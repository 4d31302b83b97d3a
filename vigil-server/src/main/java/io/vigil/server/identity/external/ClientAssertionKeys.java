package io.vigil.server.identity.external;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the keys for {@code private_key_jwt} client authentication come from: the node's personal
 * certificate store, looked up by SHA-1 thumbprint. The node passes its store in; the identity
 * provider only needs this one lookup.
 */
@FunctionalInterface
public interface ClientAssertionKeys {

  /**
   * The certificate with this thumbprint and its private key.
   *
   * @param thumbprint SHA-1 thumbprint, 40 upper-case hex digits
   * @return empty when the store has no such certificate or cannot read its private key
   */
  Optional<KeyAndCertificate> find(String thumbprint);

  /** A private key and the certificate that names its public key. */
  record KeyAndCertificate(PrivateKey privateKey, X509Certificate certificate) {
    public KeyAndCertificate {
      Objects.requireNonNull(privateKey, "privateKey");
      Objects.requireNonNull(certificate, "certificate");
    }
  }

  /** A store with no certificates: for nodes without a personal certificate store. */
  static ClientAssertionKeys none() {
    return thumbprint -> Optional.empty();
  }
}
