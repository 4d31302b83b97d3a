package io.vigil.server.protect;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

/**
 * A key protector bound to an X.509 certificate from the node's personal store: data keys are
 * wrapped with RSA-OAEP (SHA-256, MGF1 with SHA-256) to the certificate's public key, with the data
 * key's id as the OAEP label, so a wrapped key moved onto another key's row does not unwrap. Every
 * node that holds the certificate with its private key unwraps the same key ring, which is what
 * lets a cluster span machines (the seed's {@code ProtectKeysWithCertificate}).
 *
 * <p>{@link #id()} is {@code certificate:} followed by the thumbprint.
 *
 * <p>{@link #open} is the start-up validation of the seed's troubleshooting section: it refuses a
 * certificate that is missing, expired, not yet valid, untrusted, not RSA, or whose private key the
 * service account cannot read, each with one message naming the certificate, the cause and the fix.
 */
public final class CertificateProtector implements KeyProtector {

  /** RSA keys below this size are refused. */
  static final int MIN_RSA_BITS = 2048;

  private static final OAEPParameterSpec OAEP_SHA256 =
      new OAEPParameterSpec(
          "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
  private static final String TRANSFORMATION = "RSA/ECB/OAEPPadding";

  private final Thumbprint thumbprint;
  private final X509Certificate certificate;
  private final PrivateKey privateKey;

  private CertificateProtector(Thumbprint thumbprint, X509Certificate certificate, PrivateKey key) {
    this.thumbprint = thumbprint;
    this.certificate = certificate;
    this.privateKey = key;
  }

  /** How {@link #open} is to treat the certificate. */
  public enum Use {
    /** Wraps new keys: the certificate must be valid now, trusted, and its key readable. */
    CURRENT,
    /** Only unwraps keys it wrapped before: validity and trust do not matter, the key does. */
    UNWRAP_ONLY
  }

  /**
   * Finds {@code thumbprint} in {@code store} and checks that it can protect keys on this node.
   *
   * @param now the time validity is judged at
   * @throws CertificateProblem naming the certificate, the cause and the fix
   */
  public static CertificateProtector open(
      CertificateStore store, Thumbprint thumbprint, Instant now, Use use) {
    StoredCertificate stored =
        store.find(thumbprint).orElseThrow(() -> notFound(store, thumbprint));
    X509Certificate cert = stored.certificate();
    String who = "Data protection certificate " + stored.describe();
    if (use == Use.CURRENT) {
      if (now.isAfter(cert.getNotAfter().toInstant())) {
        throw new CertificateProblem(
            CertificateProblem.Code.CERTIFICATE_EXPIRED,
            thumbprint,
            who
                + " expired on "
                + cert.getNotAfter().toInstant().truncatedTo(ChronoUnit.SECONDS)
                + ", so the identity provider cannot start with it. Renew it, import the new"
                + " certificate on every node (vigil protect import-cert FILE --trusted) and"
                + " select it with vigil protect use --thumbprint NEW; the old thumbprint stays"
                + " listed for unwrapping, so no secret is lost.");
      }
      if (now.isBefore(cert.getNotBefore().toInstant())) {
        throw new CertificateProblem(
            CertificateProblem.Code.CERTIFICATE_NOT_YET_VALID,
            thumbprint,
            who
                + " is not valid until "
                + cert.getNotBefore().toInstant().truncatedTo(ChronoUnit.SECONDS)
                + " (it is now "
                + now.truncatedTo(ChronoUnit.SECONDS)
                + "), so the identity provider cannot start with it. Check this machine's clock"
                + " and time zone, or select a certificate that is valid now.");
      }
      store
          .untrustedReason(stored)
          .ifPresent(
              reason -> {
                throw new CertificateProblem(
                    CertificateProblem.Code.CERTIFICATE_UNTRUSTED,
                    thumbprint,
                    who
                        + " is not trusted on this machine: "
                        + reason
                        + ". Make it trusted: vigil protect import-cert FILE --trusted (or put"
                        + " its root certificate in the store's trusted folder), then start"
                        + " again.");
              });
    }
    PublicKey publicKey = cert.getPublicKey();
    if (!(publicKey instanceof RSAPublicKey rsa) || rsa.getModulus().bitLength() < MIN_RSA_BITS) {
      throw new CertificateProblem(
          CertificateProblem.Code.CERTIFICATE_UNSUITABLE,
          thumbprint,
          who
              + " has a "
              + describeKey(publicKey)
              + " key; keys are wrapped with RSA-OAEP, which needs an RSA key of at least "
              + MIN_RSA_BITS
              + " bits. Issue an RSA certificate for data protection (it may differ from the"
              + " TLS certificate).");
    }
    PrivateKey key;
    try {
      key = stored.privateKey();
    } catch (StoredCertificate.KeyAccessException e) {
      throw new CertificateProblem(
          CertificateProblem.Code.PRIVATE_KEY_UNREADABLE,
          thumbprint,
          "Keyset does not exist: the private key of data protection certificate "
              + stored.describe()
              + " cannot be used by the service account ("
              + FileCertificateStore.account()
              + "): "
              + e.getMessage()
              + ". Give the service account read permission on the private key (for a file,"
              + " chown it to that account and chmod 600), or re-import the certificate as"
              + " that account.");
    }
    CertificateProtector protector = new CertificateProtector(thumbprint, cert, key);
    protector.selfTest();
    return protector;
  }

  private static CertificateProblem notFound(CertificateStore store, Thumbprint thumbprint) {
    String held =
        store.list().isEmpty()
            ? "it holds no certificate"
            : "it holds "
                + store.list().stream()
                    .map(c -> c.thumbprint().hex())
                    .collect(Collectors.joining(", "));
    String unreadable =
        store.unreadable().stream()
            .map(u -> u.source() + " (" + u.cause() + ")")
            .collect(Collectors.joining("; "));
    boolean denied = store.unreadable().stream().anyMatch(u -> u.cause().contains("permission"));
    return new CertificateProblem(
        denied
            ? CertificateProblem.Code.PRIVATE_KEY_UNREADABLE
            : CertificateProblem.Code.CERTIFICATE_NOT_FOUND,
        thumbprint,
        (denied ? "Keyset does not exist: d" : "D")
            + "ata protection certificate "
            + thumbprint
            + " is not in "
            + store.describe()
            + " ("
            + held
            + (unreadable.isEmpty() ? "" : "; it cannot read " + unreadable)
            + "). "
            + (denied
                ? "Give the service account read permission on those files, or"
                : "Import the certificate with its private key (vigil protect import-cert FILE"
                    + " --password-file F --trusted), or")
            + " correct DataProtectionSettings.ProtectKeysWithCertificate.Thumbprint in"
            + " appsettings.json.");
  }

  private static String describeKey(PublicKey key) {
    if (key instanceof RSAPublicKey rsa) {
      return rsa.getModulus().bitLength() + "-bit RSA";
    }
    return key.getAlgorithm();
  }

  /** A round trip at start, so a key that does not match its certificate fails here, not later. */
  private void selfTest() {
    UUID probe = UUID.randomUUID();
    byte[] secret = new byte[32];
    byte[] back;
    try {
      back = unwrap(probe, wrap(probe, secret));
    } catch (ProtectionException e) {
      back = null;
    }
    if (back == null || !java.util.Arrays.equals(secret, back)) {
      throw new CertificateProblem(
          CertificateProblem.Code.CERTIFICATE_UNSUITABLE,
          thumbprint,
          "The private key stored with data protection certificate "
              + CertificateStore.subject(certificate)
              + " (thumbprint "
              + thumbprint
              + ") does not belong to that certificate. Re-import the certificate together with"
              + " its own private key.");
    }
  }

  public Thumbprint thumbprint() {
    return thumbprint;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  @Override
  public String id() {
    return idFor(thumbprint);
  }

  /** The protector id of the certificate with {@code thumbprint}. */
  public static String idFor(Thumbprint thumbprint) {
    return "certificate:" + thumbprint.hex();
  }

  @Override
  public String describe() {
    return "certificate "
        + CertificateStore.subject(certificate)
        + " (thumbprint "
        + thumbprint
        + ", valid until "
        + certificate.getNotAfter().toInstant().truncatedTo(ChronoUnit.SECONDS)
        + ")";
  }

  @Override
  public byte[] wrap(UUID keyId, byte[] key) {
    Objects.requireNonNull(key);
    try {
      Cipher cipher = Cipher.getInstance(TRANSFORMATION);
      cipher.init(Cipher.ENCRYPT_MODE, certificate.getPublicKey(), oaep(keyId));
      return cipher.doFinal(key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("RSA-OAEP is not available in this Java runtime", e);
    }
  }

  @Override
  public byte[] unwrap(UUID keyId, byte[] wrapped) {
    try {
      Cipher cipher = Cipher.getInstance(TRANSFORMATION);
      cipher.init(Cipher.DECRYPT_MODE, privateKey, oaep(keyId));
      return cipher.doFinal(wrapped);
    } catch (javax.crypto.BadPaddingException | javax.crypto.IllegalBlockSizeException e) {
      throw new ProtectionException(
          "Data protection key "
              + keyId
              + " does not unwrap with "
              + describe()
              + ": the stored key was altered or belongs to another key. Restore the table"
              + " data_protection_keys from a backup, or re-enter the secrets it protected.",
          e);
    } catch (GeneralSecurityException e) {
      throw new ProtectionException(
          "The private key of " + describe() + " cannot be used here: " + e.getMessage(), e);
    }
  }

  private static OAEPParameterSpec oaep(UUID keyId) {
    return new OAEPParameterSpec(
        OAEP_SHA256.getDigestAlgorithm(),
        OAEP_SHA256.getMGFAlgorithm(),
        OAEP_SHA256.getMGFParameters(),
        new PSource.PSpecified(MachineProtector.uuidBytes(keyId)));
  }

  @Override
  public String toString() {
    return describe();
  }
}
