package io.vigil.server.cli;

import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the {@code protect} commands say about a certificate of the store: its facts, and what keeps
 * it from serving a purpose on this node. The checks are those the node makes when it starts (data
 * protection refuses a certificate that is expired, not yet valid, untrusted, not RSA of at least
 * 2048 bits, or whose private key it cannot read), so a problem is seen here first.
 *
 * @param untrustedReason empty when the certificate chains to a root this machine trusts
 * @param keyProblem empty when the private key can be read by this account
 */
record CertificateReport(
    Thumbprint thumbprint,
    String subject,
    String issuer,
    Instant notBefore,
    Instant notAfter,
    long daysLeft,
    Optional<String> untrustedReason,
    Optional<String> keyProblem,
    String keyType,
    int rsaBits,
    String source) {

  /** Fewer days left than this earn a warning. */
  static final int WARN_DAYS = 30;

  /** Data protection wraps keys with RSA-OAEP and refuses smaller RSA keys. */
  static final int MIN_RSA_BITS = 2048;

  /** What a certificate is configured for. */
  enum Purpose {
    /** {@code DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint}: wraps new keys. */
    DATA_PROTECTION("data protection"),
    /** An entry of {@code OlderThumbprints}: only unwraps keys it wrapped before. */
    OLDER("data protection (older)"),
    /** {@code Http.Tls.Thumbprint}: the node's HTTPS certificate. */
    TLS("TLS");

    final String label;

    Purpose(String label) {
      this.label = label;
    }
  }

  /**
   * Something that keeps a certificate from its purpose.
   *
   * @param blocking whether the node refuses the certificate for the purpose (else a warning)
   */
  record Problem(String code, String message, boolean blocking) {}

  static CertificateReport of(CertificateStore store, StoredCertificate stored, Instant now) {
    X509Certificate c = stored.certificate();
    Optional<String> keyProblem;
    try {
      stored.privateKey();
      keyProblem = Optional.empty();
    } catch (StoredCertificate.KeyAccessException e) {
      keyProblem = Optional.of(e.getMessage());
    }
    PublicKey key = c.getPublicKey();
    Instant notAfter = c.getNotAfter().toInstant();
    return new CertificateReport(
        stored.thumbprint(),
        CertificateStore.subject(c),
        c.getIssuerX500Principal().getName(),
        c.getNotBefore().toInstant(),
        notAfter,
        Math.floorDiv(now.until(notAfter, ChronoUnit.SECONDS), 86_400L),
        store.untrustedReason(stored),
        keyProblem,
        keyType(key),
        key instanceof RSAPublicKey rsa ? rsa.getModulus().bitLength() : 0,
        stored.source());
  }

  static String keyType(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      return "RSA " + rsa.getModulus().bitLength();
    }
    if (key instanceof ECPublicKey ec) {
      return "EC " + ec.getParams().getOrder().bitLength();
    }
    if (key instanceof EdECPublicKey ed) {
      return ed.getParams().getName();
    }
    return key.getAlgorithm();
  }

  boolean expired(Instant now) {
    return now.isAfter(notAfter);
  }

  boolean notYetValid(Instant now) {
    return now.isBefore(notBefore);
  }

  /** {@code N days left}, or {@code expired}. */
  String daysLeftText(Instant now) {
    if (expired(now)) {
      return "expired";
    }
    return daysLeft == 1 ? "1 day left" : daysLeft + " days left";
  }

  /** Why this certificate cannot serve {@code purpose}, blocking problems first. */
  List<Problem> problems(Purpose purpose, Instant now) {
    List<Problem> out = new ArrayList<>();
    String who = describe();
    boolean validityMatters = purpose != Purpose.OLDER;
    if (keyProblem.isPresent()) {
      out.add(
          new Problem(
              "private_key_unreadable",
              "the private key of "
                  + who
                  + " cannot be read by user "
                  + CertificateImport.account()
                  + ": "
                  + keyProblem.get(),
              true));
    }
    if (validityMatters && expired(now)) {
      out.add(new Problem("certificate_expired", who + " expired on " + seconds(notAfter), true));
    }
    if (validityMatters && notYetValid(now)) {
      out.add(
          new Problem(
              "certificate_not_yet_valid",
              who + " is not valid until " + seconds(notBefore) + " (check this machine's clock)",
              true));
    }
    if (purpose != Purpose.TLS && rsaBits < MIN_RSA_BITS) {
      out.add(
          new Problem(
              "certificate_unsuitable",
              who
                  + " has a "
                  + keyType
                  + " key; data protection wraps keys with RSA-OAEP and needs an RSA key of at"
                  + " least "
                  + MIN_RSA_BITS
                  + " bits",
              true));
    }
    if (validityMatters && untrustedReason.isPresent()) {
      out.add(
          new Problem(
              "certificate_untrusted",
              who
                  + " is not trusted on this machine: "
                  + untrustedReason.get()
                  + (purpose == Purpose.TLS
                      ? " (clients must trust it some other way)"
                      : "; import it with --trusted, or put its root into the trusted folder"),
              purpose == Purpose.DATA_PROTECTION));
    }
    if (validityMatters && !expired(now) && daysLeft < WARN_DAYS) {
      out.add(
          new Problem(
              "certificate_expiring",
              who
                  + " expires in "
                  + daysLeftText(now).replace(" left", "")
                  + " ("
                  + seconds(notAfter)
                  + "): renew it, import the new one on every node and select it with vigil"
                  + " protect use",
              false));
    }
    out.sort((a, b) -> Boolean.compare(b.blocking(), a.blocking()));
    return out;
  }

  /** {@code subject (thumbprint T)}. */
  String describe() {
    return subject + " (thumbprint " + thumbprint + ")";
  }

  /** The facts as JSON fields, for {@code --json}. */
  Map<String, Object> json(Instant now) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("thumbprint", thumbprint.hex());
    m.put("subject", subject);
    m.put("issuer", issuer);
    m.put("notBefore", seconds(notBefore));
    m.put("notAfter", seconds(notAfter));
    m.put("daysLeft", daysLeft);
    m.put("expired", expired(now));
    m.put("trusted", untrustedReason.isEmpty());
    m.put("untrustedReason", untrustedReason.orElse(null));
    m.put("privateKeyReadable", keyProblem.isEmpty());
    m.put("privateKeyProblem", keyProblem.orElse(null));
    m.put("keyType", keyType);
    m.put("source", source);
    return m;
  }

  static String seconds(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
