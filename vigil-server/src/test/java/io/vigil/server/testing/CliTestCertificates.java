package io.vigil.server.testing;

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
 * Certificates generated for the command-line tests (Bouncy Castle), and the files an operator
 * brings to {@code vigil protect import-cert}: PKCS#12 written with the JDK's KeyStore, PEM written
 * by hand.
 */
public final class CliTestCertificates {

  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private CliTestCertificates() {}

  /** A certificate with its key pair. */
  public record Issued(X509Certificate certificate, KeyPair keys) {}

  public static KeyPair rsa(int bits) {
    return keys("RSA", bits);
  }

  public static KeyPair ec() {
    return keys("EC", 256);
  }

  private static KeyPair keys(String algorithm, int size) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
      g.initialize(size);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A self-signed RSA 2048 certificate valid from an hour ago for a year. */
  public static Issued selfSigned(String cn) {
    Instant now = Instant.now();
    return selfSigned(cn, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)), false);
  }

  public static Issued selfSigned(String cn, Instant notBefore, Instant notAfter, boolean ca) {
    return selfSigned(cn, notBefore, notAfter, ca, rsa(2048));
  }

  public static Issued selfSigned(
      String cn, Instant notBefore, Instant notAfter, boolean ca, KeyPair keys) {
    return new Issued(build(cn, keys, cn, keys, notBefore, notAfter, ca), keys);
  }

  /** A certificate authority valid for a year. */
  public static Issued authority(String cn) {
    Instant now = Instant.now();
    return selfSigned(cn, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)), true);
  }

  /** An RSA 2048 certificate for {@code cn} issued by {@code issuer}, valid for a year. */
  public static Issued issuedBy(Issued issuer, String cn) {
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
      String algorithm =
          issuer.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
      var signer = new JcaContentSignerBuilder(algorithm).build(issuer.getPrivate());
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes a PKCS#12 file with the certificate, its issuers and its key. */
  public static Path writePkcs12(
      Path file, Issued cert, List<X509Certificate> issuers, String password) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      Certificate[] chain = new Certificate[1 + issuers.size()];
      chain[0] = cert.certificate();
      for (int i = 0; i < issuers.size(); i++) {
        chain[i + 1] = issuers.get(i);
      }
      ks.setKeyEntry("server", cert.keys().getPrivate(), password.toCharArray(), chain);
      try (OutputStream out = Files.newOutputStream(file)) {
        ks.store(out, password.toCharArray());
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** PEM blocks of the certificates, in order. */
  public static String pem(X509Certificate... certs) {
    StringBuilder sb = new StringBuilder();
    try {
      for (X509Certificate c : certs) {
        sb.append(pem("CERTIFICATE", c.getEncoded()));
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return sb.toString();
  }

  /** The private key as unencrypted PKCS#8 PEM. */
  public static String pemKey(KeyPair keys) {
    return pem("PRIVATE KEY", keys.getPrivate().getEncoded());
  }

  public static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  public static Path write(Path file, String text) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      return Files.writeString(file, text, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
