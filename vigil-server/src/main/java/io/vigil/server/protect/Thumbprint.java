package io.vigil.server.protect;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;

/**
 * A certificate's SHA-1 thumbprint, the way Windows and the seed's {@code appsettings.json} name a
 * certificate: 40 hexadecimal digits. {@link #parse} ignores case, spaces and colons, so a value
 * copied from {@code certlm.msc}, {@code openssl x509 -fingerprint} or {@code vigil protect
 * list-certs} all work. The canonical form ({@link #toString}) is upper case without separators.
 */
public record Thumbprint(String hex) {

  public Thumbprint {
    if (hex == null || !hex.matches("[0-9A-F]{40}")) {
      throw new IllegalArgumentException("not a canonical thumbprint: " + hex);
    }
  }

  /**
   * Parses a thumbprint as an operator writes it.
   *
   * @throws IllegalArgumentException with a readable message when it is not 40 hex digits
   */
  public static Thumbprint parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "A certificate thumbprint is required: the 40 hexadecimal digits of its SHA-1"
              + " fingerprint (vigil protect list-certs shows them).");
    }
    String hex = text.replaceAll("[\\s:\\u200e\\u200f]", "").toUpperCase(Locale.ROOT);
    if (!hex.matches("[0-9A-F]{40}")) {
      throw new IllegalArgumentException(
          "\""
              + text.strip()
              + "\" is not a certificate thumbprint: it must be the 40 hexadecimal digits of the"
              + " certificate's SHA-1 fingerprint (case, spaces and colons are ignored); vigil"
              + " protect list-certs shows the thumbprint of every certificate in the store.");
    }
    return new Thumbprint(hex);
  }

  /** The thumbprint of {@code certificate}: SHA-1 of its DER encoding. */
  public static Thumbprint of(X509Certificate certificate) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(certificate.getEncoded());
      return new Thumbprint(HexFormat.of().withUpperCase().formatHex(digest));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException("cannot compute a certificate thumbprint", e);
    }
  }

  @Override
  public String toString() {
    return hex;
  }
}
