package io.vigil.server.protect;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Whether a stored chain leads to a trusted root: the one PKIX check every store shares. */
final class CertificatePaths {

  private CertificatePaths() {}

  /**
   * Validates {@code chain} (leaf first) against {@code trusted} as anchors, without revocation
   * checks. A leaf that is itself trusted needs no path.
   *
   * @return empty when trusted, else the validator's reason
   */
  static Optional<String> failure(
      List<X509Certificate> chain, Collection<X509Certificate> trusted) {
    if (trusted.contains(chain.get(0))) {
      return Optional.empty();
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate c : trusted) {
      anchors.add(new TrustAnchor(c, null));
    }
    // The anchor itself is not part of a PKIX path.
    List<X509Certificate> path = new ArrayList<>(chain);
    path.removeIf(trusted::contains);
    if (path.isEmpty()) {
      return Optional.empty();
    }
    try {
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      return Optional.of(String.valueOf(e.getMessage()));
    }
  }
}
