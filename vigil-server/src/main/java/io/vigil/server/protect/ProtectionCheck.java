package io.vigil.server.protect;

import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Opens a node's key ring ({@link DataProtection#open}) without failing: the result is the ring
 * when it opens, and in every case a {@link ProtectionReport} of what the node found. A node runs
 * this at start and then periodically, so a problem fixed while it runs (a certificate imported, a
 * key re-wrapped by another node) makes it eligible again without a restart.
 */
public final class ProtectionCheck {

  /** Certificates that expire within this time give a warning. */
  public static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  /**
   * @param ring the opened ring, or empty when this node cannot use it
   */
  public record Result(Optional<KeyRing> ring, ProtectionReport report) {}

  private ProtectionCheck() {}

  public static Result run(
      Settings settings, Database database, Clock clock, CertificateStore store) {
    Instant now = clock.instant();
    List<ProtectionReport.CertificateInfo> certificates = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    var section = settings.dataProtection.protectKeysWithCertificate;
    if (section.thumbprint != null && !section.thumbprint.isBlank()) {
      certificates.add(describe(store, section.thumbprint, "data-protection", now, warnings));
    }
    for (String older : section.olderThumbprints) {
      certificates.add(describe(store, older, "data-protection-older", now, null));
    }
    String tls = settings.tlsThumbprint();
    if (tls != null && !tls.isBlank()) {
      certificates.add(describe(store, tls, "tls", now, warnings));
    }
    try {
      KeyRing ring = DataProtection.open(settings, database, clock, store);
      List<KeyRing.KeyInfo> keys = ring.keys();
      return new Result(
          Optional.of(ring),
          new ProtectionReport(
              ring.protector().describe(),
              true,
              null,
              null,
              certificates,
              keys.size(),
              (int) keys.stream().filter(KeyRing.KeyInfo::unwrapsHere).count(),
              List.of(),
              warnings));
    } catch (DataProtection.UnusableKeysException e) {
      int total = countKeys(database);
      return new Result(
          Optional.empty(),
          new ProtectionReport(
              configured(settings),
              false,
              "keys_not_unwrappable",
              e.getMessage(),
              certificates,
              total,
              total - e.keys().size(),
              e.secrets().stream().map(ProtectedSecrets.Secret::description).toList(),
              warnings));
    } catch (CertificateProblem e) {
      return new Result(
          Optional.empty(),
          new ProtectionReport(
              configured(settings),
              false,
              e.code().code(),
              e.getMessage(),
              certificates,
              countKeys(database),
              0,
              List.of(),
              warnings));
    } catch (ProtectionException e) {
      return new Result(
          Optional.empty(),
          new ProtectionReport(
              configured(settings),
              false,
              "protection_failed",
              e.getMessage(),
              certificates,
              countKeys(database),
              0,
              List.of(),
              warnings));
    }
  }

  private static String configured(Settings settings) {
    String t = settings.dataProtection.protectKeysWithCertificate.thumbprint;
    return t == null || t.isBlank()
        ? "the machine key file " + DataProtection.machineKeyFile(settings)
        : "certificate with thumbprint " + t.strip();
  }

  private static int countKeys(Database database) {
    try {
      return database
          .jdbi()
          .withHandle(
              h ->
                  h.createQuery("SELECT COUNT(*) FROM data_protection_keys")
                      .mapTo(Integer.class)
                      .one());
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static ProtectionReport.CertificateInfo describe(
      CertificateStore store, String text, String use, Instant now, List<String> warnings) {
    Thumbprint thumbprint;
    try {
      thumbprint = Thumbprint.parse(text);
    } catch (IllegalArgumentException e) {
      return new ProtectionReport.CertificateInfo(
          use, text.strip(), false, null, null, null, null, null);
    }
    Optional<StoredCertificate> found;
    try {
      found = store.find(thumbprint);
    } catch (ProtectionException e) {
      found = Optional.empty();
    }
    if (found.isEmpty()) {
      return new ProtectionReport.CertificateInfo(
          use, thumbprint.hex(), false, null, null, null, null, null);
    }
    StoredCertificate c = found.get();
    Instant notAfter = c.certificate().getNotAfter().toInstant();
    long days = Duration.between(now, notAfter).toDays();
    boolean readable;
    try {
      c.privateKey();
      readable = true;
    } catch (StoredCertificate.KeyAccessException e) {
      readable = false;
    }
    if (warnings != null && now.isBefore(notAfter) && now.plus(EXPIRY_WARNING).isAfter(notAfter)) {
      warnings.add(
          ("tls".equals(use) ? "TLS" : "Data protection")
              + " certificate "
              + c.describe()
              + " expires in "
              + days
              + (days == 1 ? " day" : " days")
              + " (on "
              + notAfter
              + "): renew it, import the new certificate on every node and select it with vigil"
              + " protect use"
              + ("tls".equals(use) ? " --tls" : "")
              + " --thumbprint NEW before then.");
    }
    return new ProtectionReport.CertificateInfo(
        use,
        thumbprint.hex(),
        true,
        CertificateStore.subject(c.certificate()),
        notAfter,
        days,
        store.untrustedReason(c).isEmpty(),
        readable);
  }
}
