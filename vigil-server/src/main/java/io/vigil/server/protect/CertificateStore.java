package io.vigil.server.protect;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A node's personal certificate store: certificates with private keys that the node uses to protect
 * data keys ({@link CertificateProtector}) and to serve HTTPS, found by {@link Thumbprint}, plus
 * the roots this machine trusts. On Linux it is a folder of files ({@link FileCertificateStore});
 * on Windows the {@code Windows-MY} store ({@link WindowsCertificateStore}). {@link #forPlatform}
 * picks one.
 *
 * <p>Reads go to the backing store every time, so a certificate renewed or imported while the node
 * runs is seen by the next call. Implementations are thread-safe.
 */
public interface CertificateStore {

  /** Every certificate of the personal store, readable or not, in a stable order. */
  List<StoredCertificate> list();

  /** Entries the store holds but cannot read at all (e.g. a PKCS#12 file with a wrong password). */
  List<UnreadableEntry> unreadable();

  /** The certificate with this thumbprint, if the store holds it. */
  default Optional<StoredCertificate> find(Thumbprint thumbprint) {
    return list().stream().filter(c -> c.thumbprint().equals(thumbprint)).findFirst();
  }

  /** Whether {@code certificate} chains to a root this machine trusts; empty when it does. */
  Optional<String> untrustedReason(StoredCertificate certificate);

  /**
   * The roots this machine trusts, read now: what {@link #untrustedReason} checks against, and what
   * the node's outbound TLS connections trust ({@link StoreTrust}).
   */
  List<X509Certificate> trustedRoots();

  /** A readable name for messages, such as the folder or {@code Windows-MY}. */
  String describe();

  /**
   * An entry the store cannot open.
   *
   * @param source the file or alias
   * @param cause what went wrong, readable
   */
  record UnreadableEntry(String source, String cause) {}

  /**
   * The store of this platform: the Windows personal store on Windows, else the folder {@code
   * certificates} in the data directory.
   */
  static CertificateStore forPlatform(Path dataDir) {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    if (os.startsWith("windows")) {
      return new WindowsCertificateStore();
    }
    return new FileCertificateStore(FileCertificateStore.defaultRoot(dataDir));
  }

  /** Subject of a certificate, for messages. */
  static String subject(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().getName();
  }
}
