package io.vigil.server.protect;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.UnrecoverableKeyException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The personal certificate store on Linux (and any platform without a native store): a folder, by
 * default {@code certificates} in the data directory, laid out as
 *
 * <pre>
 * certificates/
 *   personal/   certificates with private keys
 *     NAME.p12 (or .pfx)    a PKCS#12 file, its password in NAME.p12.password (owner-only;
 *                           no password file means an empty password)
 *     NAME.crt (or .pem)    PEM certificate, then its chain, with the PKCS#8 PEM private key in
 *                           NAME.key (owner-only)
 *   trusted/    root (or intermediate) certificates this machine trusts, PEM or DER, in addition
 *               to the Java runtime's trust store
 * </pre>
 *
 * <p>{@code vigil protect import-cert} writes this layout. Every call reads the folder again, so
 * files added, renewed or removed are seen without a restart; a store holds a handful of files.
 */
public final class FileCertificateStore implements CertificateStore {

  private static final Pattern PEM_CERTIFICATE =
      Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+)-----END CERTIFICATE-----");
  private static final Pattern PEM_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END \\1PRIVATE KEY-----");

  private final Path root;

  public FileCertificateStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** {@code certificates} in the data directory. */
  public static Path defaultRoot(Path dataDir) {
    return dataDir.resolve("certificates");
  }

  public Path root() {
    return root;
  }

  public Path personal() {
    return root.resolve("personal");
  }

  public Path trusted() {
    return root.resolve("trusted");
  }

  @Override
  public String describe() {
    return "the certificate store in " + root;
  }

  @Override
  public List<StoredCertificate> list() {
    return scan().certificates;
  }

  @Override
  public List<UnreadableEntry> unreadable() {
    return scan().unreadable;
  }

  private record Scan(List<StoredCertificate> certificates, List<UnreadableEntry> unreadable) {}

  private Scan scan() {
    List<StoredCertificate> found = new ArrayList<>();
    List<UnreadableEntry> bad = new ArrayList<>();
    for (Path file : files(personal())) {
      String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
      try {
        if (name.endsWith(".p12") || name.endsWith(".pfx")) {
          found.addAll(readPkcs12(file));
        } else if (name.endsWith(".crt") || name.endsWith(".pem") || name.endsWith(".cer")) {
          List<X509Certificate> chain = readCertificates(file);
          if (chain.isEmpty()) {
            bad.add(new UnreadableEntry(file.toString(), "it holds no PEM certificate"));
          } else {
            found.add(new PemCertificate(chain, file, keyFileFor(file)));
          }
        }
      } catch (AccessDeniedException e) {
        bad.add(
            new UnreadableEntry(
                file.toString(),
                "the service account (" + account() + ") has no permission to read it"));
      } catch (IOException | GeneralSecurityException e) {
        bad.add(new UnreadableEntry(file.toString(), readable(e)));
      }
    }
    found.sort(Comparator.comparing(c -> c.thumbprint().hex()));
    return new Scan(List.copyOf(found), List.copyOf(bad));
  }

  @Override
  public Optional<String> untrustedReason(StoredCertificate certificate) {
    X509Certificate leaf = certificate.certificate();
    return CertificatePaths.failure(certificate.chain(), trustedRoots())
        .map(
            why ->
                leaf.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())
                    ? "it is self-signed and not in "
                        + trusted()
                        + " or the Java runtime's trust store"
                    : "its issuer "
                        + leaf.getIssuerX500Principal().getName()
                        + " does not chain to a root in "
                        + trusted()
                        + " or the Java runtime's trust store ("
                        + why
                        + ")");
  }

  /** The certificates of the {@code trusted} folder and the Java runtime's default trust store. */
  @Override
  public List<X509Certificate> trustedRoots() {
    List<X509Certificate> out = new ArrayList<>();
    for (Path file : files(trusted())) {
      try {
        out.addAll(readCertificates(file));
      } catch (IOException | GeneralSecurityException e) {
        // An unreadable file in trusted/ trusts nothing; list-certs shows the certificate as
        // untrusted.
      }
    }
    try {
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init((KeyStore) null);
      for (var tm : tmf.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          out.addAll(List.of(x.getAcceptedIssuers()));
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the Java runtime's trust store cannot be read", e);
    }
    return out;
  }

  private static List<Path> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        if (Files.isRegularFile(p)) {
          out.add(p);
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  private List<StoredCertificate> readPkcs12(Path file)
      throws IOException, GeneralSecurityException {
    char[] password = readPassword(passwordFileFor(file));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(file)) {
      ks.load(in, password);
    } catch (IOException e) {
      if (e.getCause() instanceof UnrecoverableKeyException) {
        throw new GeneralSecurityException(
            "the password in " + passwordFileFor(file) + " does not open it (wrong password)");
      }
      throw e;
    }
    List<StoredCertificate> out = new ArrayList<>();
    for (String alias : java.util.Collections.list(ks.aliases())) {
      if (!(ks.getCertificate(alias) instanceof X509Certificate cert)) {
        continue;
      }
      List<X509Certificate> chain = new ArrayList<>();
      var stored = ks.getCertificateChain(alias);
      if (stored != null) {
        for (var c : stored) {
          chain.add((X509Certificate) c);
        }
      } else {
        chain.add(cert);
      }
      out.add(new Pkcs12Certificate(chain, file, ks, alias, password));
    }
    return out;
  }

  static Path passwordFileFor(Path p12) {
    return p12.resolveSibling(p12.getFileName() + ".password");
  }

  static Path keyFileFor(Path pem) {
    String name = pem.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return pem.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".key");
  }

  private static char[] readPassword(Path file) throws IOException {
    try {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      return text.strip().toCharArray();
    } catch (NoSuchFileException e) {
      return new char[0];
    }
  }

  /** The PEM or DER certificates in {@code file}, in order. */
  static List<X509Certificate> readCertificates(Path file)
      throws IOException, GeneralSecurityException {
    return parseCertificates(Files.readAllBytes(file));
  }

  static List<X509Certificate> parseCertificates(byte[] bytes) throws GeneralSecurityException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    String text = new String(bytes, StandardCharsets.US_ASCII);
    List<X509Certificate> out = new ArrayList<>();
    if (!text.contains("-----BEGIN")) {
      Collection<? extends java.security.cert.Certificate> all =
          cf.generateCertificates(new ByteArrayInputStream(bytes));
      for (var c : all) {
        out.add((X509Certificate) c);
      }
      return out;
    }
    Matcher m = PEM_CERTIFICATE.matcher(text);
    while (m.find()) {
      byte[] der = Base64.getMimeDecoder().decode(m.group(1));
      out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
    }
    return out;
  }

  /**
   * The PKCS#8 private key in a PEM text, for the public key algorithm of {@code certificate}.
   *
   * @throws GeneralSecurityException naming the format problem and the fix
   */
  static Optional<PrivateKey> parsePrivateKey(String pem, X509Certificate certificate, String where)
      throws GeneralSecurityException {
    Matcher m = PEM_KEY.matcher(pem);
    if (!m.find()) {
      return Optional.empty();
    }
    String kind = m.group(1).strip();
    if (!kind.isEmpty()) {
      throw new GeneralSecurityException(
          where
              + " holds a \""
              + kind
              + " PRIVATE KEY\"; Vigil reads unencrypted PKCS#8 keys (\"BEGIN PRIVATE KEY\"):"
              + " convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out NEW.key, or import a"
              + " PKCS#12 file instead");
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(2));
    String algorithm = certificate.getPublicKey().getAlgorithm();
    return Optional.of(
        KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der)));
  }

  static String account() {
    return System.getProperty("user.name", "the service account");
  }

  private static String readable(Exception e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? "it cannot be read" : m;
  }

  private static final class Pkcs12Certificate extends StoredChain {
    private final Path file;
    private final KeyStore store;
    private final String alias;
    private final char[] password;

    Pkcs12Certificate(
        List<X509Certificate> chain, Path file, KeyStore store, String alias, char[] password) {
      super(chain, file.toString());
      this.file = file;
      this.store = store;
      this.alias = alias;
      this.password = password;
    }

    @Override
    public PrivateKey privateKey() {
      try {
        if (store.getKey(alias, password) instanceof PrivateKey key) {
          return key;
        }
        throw new KeyAccessException(file + " holds the certificate but no private key for it");
      } catch (UnrecoverableKeyException e) {
        throw new KeyAccessException(
            "the password in "
                + passwordFileFor(file)
                + " does not open the private key in "
                + file,
            e);
      } catch (GeneralSecurityException e) {
        throw new KeyAccessException("the private key in " + file + " cannot be read: " + e, e);
      }
    }
  }

  private static final class PemCertificate extends StoredChain {
    private final Path file;
    private final Path keyFile;

    PemCertificate(List<X509Certificate> chain, Path file, Path keyFile) {
      super(chain, file.toString());
      this.file = file;
      this.keyFile = keyFile;
    }

    @Override
    public PrivateKey privateKey() {
      String pem;
      try {
        pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
      } catch (AccessDeniedException e) {
        throw new KeyAccessException(
            "the service account (" + account() + ") has no permission to read " + keyFile, e);
      } catch (NoSuchFileException e) {
        throw new KeyAccessException(
            "there is no private key file " + keyFile + " beside the certificate " + file, e);
      } catch (IOException e) {
        throw new KeyAccessException(keyFile + " cannot be read: " + e.getMessage(), e);
      }
      try {
        return parsePrivateKey(pem, certificate(), keyFile.toString())
            .orElseThrow(() -> new KeyAccessException(keyFile + " holds no PEM private key"));
      } catch (GeneralSecurityException e) {
        throw new KeyAccessException(e.getMessage(), e);
      }
    }
  }
}
