package io.vigil.server.testing;

import io.vigil.server.protect.Thumbprint;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates for tests, generated with Bouncy Castle, and the files of a node's personal
 * certificate store ({@code io.vigil.server.protect.FileCertificateStore}) written from them.
 *
 * <p>Typical use:
 *
 * <pre>{@code
 * TestCertificates.Issued ca = TestCertificates.ca("Test CA");
 * TestCertificates.Issued server =
 *     TestCertificates.builder("vigil.test").dnsNames("localhost").ipAddresses("127.0.0.1")
 *         .issuedBy(ca).build();
 * TestCertificates.writePkcs12(TestCertificates.personal(dataDir), "https", server, "pw");
 * SSLContext client = TestCertificates.trusting(ca.certificate());
 * }</pre>
 *
 * <p>Keys are RSA (2048 bits unless {@link Builder#keyBits} says otherwise), signatures
 * SHA256withRSA. Certificates are valid from one hour ago for 30 days unless {@link
 * Builder#validFrom}/{@link Builder#validUntil} say otherwise, so expired and not-yet-valid ones
 * are one call away. End-entity certificates carry key usage digitalSignature + keyEncipherment and
 * extended key usage serverAuth + clientAuth (change with {@link Builder#extendedKeyUsage}); CA
 * certificates carry basicConstraints CA and keyCertSign + cRLSign. Files with secrets (private
 * keys, PKCS#12 passwords) are written owner-only, as the store expects.
 */
public final class TestCertificates {

  private static final SecureRandom RANDOM = new SecureRandom();

  private TestCertificates() {}

  /**
   * A generated certificate with its key pair.
   *
   * @param chain the certificate followed by its issuers (without a self-signed certificate's
   *     repeat), as a server presents it
   */
  public record Issued(X509Certificate certificate, KeyPair keyPair, List<X509Certificate> chain) {

    public PrivateKey privateKey() {
      return keyPair.getPrivate();
    }

    public Thumbprint thumbprint() {
      return Thumbprint.of(certificate);
    }

    /** The chain as PEM, leaf first. */
    public String chainPem() {
      StringBuilder out = new StringBuilder();
      for (X509Certificate c : chain) {
        out.append(pem(c));
      }
      return out.toString();
    }

    /** The certificate alone as PEM. */
    public String certificatePem() {
      return pem(certificate);
    }

    /** The private key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}). */
    public String privateKeyPem() {
      return pemBlock("PRIVATE KEY", privateKey().getEncoded());
    }

    @Override
    public String toString() {
      return certificate.getSubjectX500Principal().getName() + " (" + thumbprint() + ")";
    }
  }

  /** A builder for a certificate whose subject is {@code CN=commonName}. */
  public static Builder builder(String commonName) {
    return new Builder(commonName);
  }

  /** A self-signed CA certificate. */
  public static Issued ca(String commonName) {
    return builder(commonName).ca().validUntil(Instant.now().plus(Duration.ofDays(365))).build();
  }

  /** A self-signed server certificate for {@code localhost} and {@code 127.0.0.1}. */
  public static Issued selfSigned(String commonName) {
    return builder(commonName).dnsNames("localhost").ipAddresses("127.0.0.1").build();
  }

  /** A server certificate for {@code localhost} and {@code 127.0.0.1} issued by {@code ca}. */
  public static Issued server(String commonName, Issued ca) {
    return builder(commonName).dnsNames("localhost").ipAddresses("127.0.0.1").issuedBy(ca).build();
  }

  public static final class Builder {
    private final String commonName;
    private final List<GeneralName> names = new ArrayList<>();
    private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
    private Instant notAfter = Instant.now().plus(Duration.ofDays(30));
    private Issued issuer;
    private boolean ca;
    private int keyBits = 2048;
    private KeyPair keyPair;
    private List<KeyPurposeId> usages =
        List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);

    private Builder(String commonName) {
      this.commonName = commonName;
    }

    /** Subject alternative names of type DNS. */
    public Builder dnsNames(String... dns) {
      for (String d : dns) {
        names.add(new GeneralName(GeneralName.dNSName, d));
      }
      return this;
    }

    /** Subject alternative names of type IP address (literals). */
    public Builder ipAddresses(String... ips) {
      for (String ip : ips) {
        names.add(new GeneralName(GeneralName.iPAddress, ip));
      }
      return this;
    }

    public Builder validFrom(Instant from) {
      this.notBefore = from;
      return this;
    }

    public Builder validUntil(Instant until) {
      this.notAfter = until;
      return this;
    }

    /** Signed by {@code issuer} (a {@link #ca()} certificate) instead of self-signed. */
    public Builder issuedBy(Issued issuer) {
      this.issuer = issuer;
      return this;
    }

    /** A CA certificate: basicConstraints CA, key usage keyCertSign and cRLSign. */
    public Builder ca() {
      this.ca = true;
      return this;
    }

    public Builder keyBits(int bits) {
      this.keyBits = bits;
      return this;
    }

    /** Uses this key pair instead of a new one (e.g. a renewal with the same key). */
    public Builder keyPair(KeyPair pair) {
      this.keyPair = pair;
      return this;
    }

    /** The extended key usages; none at all when empty. */
    public Builder extendedKeyUsage(KeyPurposeId... purposes) {
      this.usages = List.of(purposes);
      return this;
    }

    public Issued build() {
      try {
        KeyPair pair = keyPair != null ? keyPair : newKeyPair(keyBits);
        X500Name subject = new X500Name("CN=" + commonName);
        X500Name issuerName =
            issuer == null
                ? subject
                : X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
        PrivateKey signingKey = issuer == null ? pair.getPrivate() : issuer.privateKey();
        X509v3CertificateBuilder b =
            new JcaX509v3CertificateBuilder(
                issuerName,
                new BigInteger(64, RANDOM).abs().add(BigInteger.ONE),
                Date.from(notBefore),
                Date.from(notAfter),
                subject,
                pair.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(
            Extension.subjectKeyIdentifier,
            false,
            ext.createSubjectKeyIdentifier(pair.getPublic()));
        if (issuer != null) {
          b.addExtension(
              Extension.authorityKeyIdentifier,
              false,
              ext.createAuthorityKeyIdentifier(issuer.certificate()));
        }
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(
            Extension.keyUsage,
            true,
            new KeyUsage(
                ca
                    ? KeyUsage.keyCertSign | KeyUsage.cRLSign
                    : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        if (!ca && !usages.isEmpty()) {
          b.addExtension(
              Extension.extendedKeyUsage,
              false,
              new ExtendedKeyUsage(usages.toArray(new KeyPurposeId[0])));
        }
        if (!names.isEmpty()) {
          b.addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(names.toArray(new GeneralName[0])));
        }
        X509Certificate cert =
            new JcaX509CertificateConverter()
                .getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signingKey)));
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(cert);
        if (issuer != null) {
          chain.addAll(issuer.chain());
        }
        return new Issued(cert, pair, List.copyOf(chain));
      } catch (Exception e) {
        throw new IllegalStateException("cannot generate a test certificate", e);
      }
    }
  }

  /** A new RSA key pair. */
  public static KeyPair newKeyPair(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits, RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code <dataDir>/certificates/personal}, the personal store folder of a node. */
  public static Path personal(Path dataDir) {
    return dataDir.resolve("certificates").resolve("personal");
  }

  /** {@code <dataDir>/certificates/trusted}, the folder of roots a node trusts. */
  public static Path trusted(Path dataDir) {
    return dataDir.resolve("certificates").resolve("trusted");
  }

  /**
   * Writes {@code NAME.p12} (certificate chain and private key under {@code password}) and {@code
   * NAME.p12.password} (owner-only) into {@code dir}, creating it.
   *
   * @return the PKCS#12 file
   */
  public static Path writePkcs12(Path dir, String name, Issued cert, String password) {
    return writePkcs12(dir, name, cert, password, true);
  }

  /**
   * As {@link #writePkcs12(Path, String, Issued, String)}; with {@code withKey} false the file
   * holds the certificate only (a certificate without its private key).
   */
  public static Path writePkcs12(
      Path dir, String name, Issued cert, String password, boolean withKey) {
    try {
      Files.createDirectories(dir);
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      if (withKey) {
        ks.setKeyEntry(
            name,
            cert.privateKey(),
            password.toCharArray(),
            cert.chain().toArray(new X509Certificate[0]));
      } else {
        ks.setCertificateEntry(name, cert.certificate());
      }
      Path file = dir.resolve(name + ".p12");
      try (OutputStream out = Files.newOutputStream(file)) {
        ks.store(out, password.toCharArray());
      }
      writeOwnerOnly(dir.resolve(name + ".p12.password"), password);
      return file;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code NAME.crt} (the chain, PEM) and {@code NAME.key} (PKCS#8 PEM, owner-only) into
   * {@code dir}, creating it.
   *
   * @return the certificate file
   */
  public static Path writePem(Path dir, String name, Issued cert) {
    Path crt = writeCertificatePem(dir, name, cert);
    writeOwnerOnly(dir.resolve(name + ".key"), cert.privateKeyPem());
    return crt;
  }

  /** Writes {@code NAME.crt} (the chain, PEM) only: a certificate without its private key. */
  public static Path writeCertificatePem(Path dir, String name, Issued cert) {
    try {
      Files.createDirectories(dir);
      Path crt = dir.resolve(name + ".crt");
      Files.writeString(crt, cert.chainPem(), StandardCharsets.US_ASCII);
      return crt;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes one certificate as PEM to {@code dir/NAME.crt} (e.g. a root into the trusted folder).
   */
  public static Path writeTrusted(Path dir, String name, X509Certificate certificate) {
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(name + ".crt");
      Files.writeString(file, pem(certificate), StandardCharsets.US_ASCII);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A client TLS context that trusts exactly these certificates (e.g. a test CA). */
  public static SSLContext trusting(X509Certificate... roots) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      for (int i = 0; i < roots.length; i++) {
        ks.setCertificateEntry("root-" + i, roots[i]);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ks);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), RANDOM);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One certificate as a PEM block. */
  public static String pem(X509Certificate certificate) {
    try {
      return pemBlock("CERTIFICATE", certificate.getEncoded());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pemBlock(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  private static void writeOwnerOnly(Path file, String text) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(file);
      try {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system (Windows): the folder's ACL applies.
      }
      Files.writeString(file, text, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
