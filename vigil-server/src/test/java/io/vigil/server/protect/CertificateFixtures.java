package io.vigil.server.protect;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates generated for tests (Bouncy Castle), and writers for the layout of {@link
 * FileCertificateStore}: PKCS#12 with a password file, PEM pairs, trusted roots.
 */
final class CertificateFixtures {

  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  /** A certificate with its key pair. */
  record Issued(X509Certificate certificate, KeyPair keys) {
    Thumbprint thumbprint() {
      return Thumbprint.of(certificate);
    }
  }

  private CertificateFixtures() {}

  static KeyPair rsa(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed certificate valid from an hour ago for {@code days}. */
  static Issued selfSigned(String cn, boolean ca) {
    Instant now = Instant.now();
    return selfSigned(cn, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)), ca);
  }

  static Issued selfSigned(String cn, Instant notBefore, Instant notAfter, boolean ca) {
    KeyPair keys = rsa(2048);
    return new Issued(build(cn, keys, cn, keys, notBefore, notAfter, ca), keys);
  }

  /** A certificate for {@code cn} issued by {@code issuer}, valid for a year. */
  static Issued issuedBy(Issued issuer, String cn) {
    Instant now = Instant.now();
    KeyPair keys = rsa(2048);
    String issuerCn =
        issuer.certificate().getSubjectX500Principal().getName().replaceFirst("^CN=", "");
    return new Issued(
        build(
            cn,
            keys,
            issuerCn,
            issuer.keys(),
            now.minus(Duration.ofHours(1)),
            now.plus(Duration.ofDays(365)),
            false),
        keys);
  }

  private static X509Certificate build(
      String cn,
      KeyPair subject,
      String issuerCn,
      KeyPair issuer,
      Instant notBefore,
      Instant notAfter,
      boolean ca) {
    try {
      var builder =
          new JcaX509v3CertificateBuilder(
              new X500Name("CN=" + issuerCn),
              BigInteger.valueOf(SERIAL.incrementAndGet()),
              Date.from(notBefore),
              Date.from(notAfter),
              new X500Name("CN=" + cn),
              subject.getPublic());
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      var signer = new JcaContentSignerBuilder("SHA256withRSA").build(issuer.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes {@code name}.p12 with the chain and key, and its password file, into {@code dir}. */
  static Path writePkcs12(
      Path dir, String name, Issued cert, List<X509Certificate> issuers, String password) {
    try {
      Files.createDirectories(dir);
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      Certificate[] chain = new Certificate[1 + issuers.size()];
      chain[0] = cert.certificate();
      for (int i = 0; i < issuers.size(); i++) {
        chain[i + 1] = issuers.get(i);
      }
      ks.setKeyEntry("key", cert.keys().getPrivate(), password.toCharArray(), chain);
      Path file = dir.resolve(name + ".p12");
      try (OutputStream out = Files.newOutputStream(file)) {
        ks.store(out, password.toCharArray());
      }
      Files.writeString(FileCertificateStore.passwordFileFor(file), password);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes {@code name}.crt and {@code name}.key (PKCS#8) into {@code dir}. */
  static Path writePem(Path dir, String name, Issued cert) {
    try {
      Files.createDirectories(dir);
      Path crt = dir.resolve(name + ".crt");
      Files.writeString(crt, pem("CERTIFICATE", cert.certificate().getEncoded()));
      Files.writeString(
          dir.resolve(name + ".key"), pem("PRIVATE KEY", cert.keys().getPrivate().getEncoded()));
      return crt;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes {@code cert} into the store's trusted folder. */
  static void trust(FileCertificateStore store, X509Certificate cert) {
    try {
      Files.createDirectories(store.trusted());
      Files.writeString(
          store.trusted().resolve(Thumbprint.of(cert) + ".crt"),
          pem("CERTIFICATE", cert.getEncoded()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }
}
