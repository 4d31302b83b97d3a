package io.vigil.server.cli;

import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.PSSParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code vigil protect import-cert} reads and writes: a certificate file the operator brings
 * (PKCS#12, PEM or DER), checked completely before anything is written, and its copy in the layout
 * of {@link FileCertificateStore}, named by thumbprint.
 *
 * <p>A PKCS#12 file is stored again with a new random password rather than copied, so the store
 * holds exactly one certificate, its chain and its key per file, and the password the file arrived
 * with (often shared with whoever sent it) is not kept. A PEM certificate is stored as PEM with its
 * PKCS#8 key beside it.
 *
 * <p>Every file is written to a temporary name the store does not read, created owner-only (POSIX
 * 600) in the same folder, then moved into place, so a node reading the store meanwhile sees the
 * entry complete or not at all. The password (or key) file is moved first.
 */
final class CertificateImport {

  private static final Pattern PEM_CERTIFICATE =
      Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+)-----END CERTIFICATE-----");
  private static final Pattern PEM_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END \\1PRIVATE KEY-----");
  private static final SecureRandom RANDOM = new SecureRandom();

  private CertificateImport() {}

  /** How the certificate arrived, which is how it is stored. */
  enum Format {
    PKCS12,
    PEM
  }

  /**
   * A certificate read and checked: the certificate first, then the issuers that came with it.
   *
   * @param key the private key, checked to match the certificate; null for a certificate alone
   */
  record Material(List<X509Certificate> chain, PrivateKey key, Format format) {
    X509Certificate certificate() {
      return chain.get(0);
    }

    Thumbprint thumbprint() {
      return Thumbprint.of(certificate());
    }

    /**
     * The certificate to trust for {@code --trusted}: the certificate itself when it is
     * self-signed, else the last one of the chain (normally the self-signed root at its end).
     */
    X509Certificate root() {
      return selfSigned(certificate()) ? certificate() : chain.get(chain.size() - 1);
    }
  }

  /**
   * Reads and checks {@code file}.
   *
   * @param passwordFile the PKCS#12 password's file (its first line); null for an empty password
   * @param keyFile a PKCS#8 PEM private key for a PEM or DER certificate; null when the key is in
   *     {@code file} or there is none
   * @throws CliException naming the file, what is wrong and the fix
   */
  static Material read(Path file, Path passwordFile, Path keyFile) {
    byte[] bytes = readBytes(file, "certificate file");
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    boolean pkcs12Name = name.endsWith(".p12") || name.endsWith(".pfx");
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    boolean pem = text.contains("-----BEGIN");
    if (pkcs12Name || (!pem && !looksLikeDerCertificate(bytes))) {
      if (keyFile != null) {
        throw CliException.usage(
            "key_with_pkcs12",
            file
                + " is a PKCS#12 file, which carries its own private key: leave out --key (it is"
                + " for PEM certificates).");
      }
      return readPkcs12(file, bytes, passwordFile);
    }
    if (passwordFile != null) {
      throw CliException.usage(
          "password_with_pem",
          "--password-file is for PKCS#12 files; "
              + file
              + " is a PEM or DER certificate, and Vigil reads its private key as unencrypted"
              + " PKCS#8 (\"BEGIN PRIVATE KEY\"), in the file or given with --key.");
    }
    return readPem(file, bytes, text, keyFile);
  }

  /** The result of {@link #write}. */
  record Written(
      List<Path> personalFiles, boolean alreadyInStore, Path trustedFile, boolean alreadyTrusted) {}

  /**
   * Stores {@code material}: the certificate with its key in {@code personal/}, unless the store
   * already holds it with a readable key; with {@code trust}, its root in {@code trusted/}.
   * Importing the same certificate again changes nothing.
   */
  static Written write(FileCertificateStore store, Material material, boolean trust) {
    Thumbprint thumbprint = material.thumbprint();
    List<Entry> personal = new ArrayList<>();
    boolean present = false;
    if (material.key() != null) {
      Optional<StoredCertificate> existing = store.find(thumbprint);
      present = existing.isPresent() && keyReadable(existing.get());
      if (!present) {
        personal = personalEntries(store.personal(), material);
      }
    }
    Path trustedFile = null;
    boolean alreadyTrusted = false;
    byte[] rootPem = null;
    if (trust) {
      X509Certificate root = material.root();
      trustedFile = store.trusted().resolve(Thumbprint.of(root) + ".crt");
      alreadyTrusted = store.trustedRoots().contains(root);
      rootPem = pem("CERTIFICATE", encoded(root));
    }
    List<Path> written = new ArrayList<>();
    try {
      if (!personal.isEmpty()) {
        createOwnerOnlyDirectories(store.personal());
        for (Entry e : personal) {
          writeOwnerOnly(e.file(), e.bytes());
          written.add(e.file());
        }
      }
      if (trust && !alreadyTrusted) {
        createOwnerOnlyDirectories(store.trusted());
        writeOwnerOnly(trustedFile, rootPem);
      }
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "store_unwritable",
          "Cannot write into "
              + store.root()
              + " as user "
              + account()
              + ": "
              + e
              + (written.isEmpty() ? "" : " (already written: " + written + ")")
              + ". Run the command as the node's service account or as root.");
    }
    return new Written(List.copyOf(written), present, trustedFile, alreadyTrusted);
  }

  // ---- reading

  private static Material readPkcs12(Path file, byte[] bytes, Path passwordFile) {
    char[] password = passwordFile == null ? new char[0] : readPassword(passwordFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try {
        ks.load(new ByteArrayInputStream(bytes), password);
      } catch (IOException e) {
        if (e.getCause() instanceof UnrecoverableKeyException) {
          throw new CliException(
              ExitCodes.ERROR,
              "wrong_password",
              passwordFile == null
                  ? file
                      + " is protected by a password: write it into a file only you can read and"
                      + " give --password-file FILE (never the password itself on the command"
                      + " line). Nothing was written."
                  : "The password in "
                      + passwordFile
                      + " does not open "
                      + file
                      + " (wrong password). Nothing was written.");
        }
        throw new CliException(
            ExitCodes.ERROR,
            "unreadable_certificate",
            file
                + " is not a PKCS#12 (.p12/.pfx), PEM or DER certificate file, or it is damaged ("
                + e.getMessage()
                + "). Nothing was written.");
      }
      List<String> keyAliases = new ArrayList<>();
      List<X509Certificate> loose = new ArrayList<>();
      for (String alias : Collections.list(ks.aliases())) {
        if (ks.isKeyEntry(alias)) {
          keyAliases.add(alias);
        } else if (ks.getCertificate(alias) instanceof X509Certificate c) {
          loose.add(c);
        }
      }
      if (keyAliases.size() > 1) {
        throw new CliException(
            ExitCodes.ERROR,
            "several_keys",
            file
                + " holds "
                + keyAliases.size()
                + " private keys ("
                + String.join(", ", keyAliases)
                + "); export each certificate with its key into a file of its own and import"
                + " them one by one. Nothing was written.");
      }
      if (keyAliases.isEmpty()) {
        if (loose.isEmpty()) {
          throw noCertificate(file);
        }
        return new Material(List.copyOf(loose), null, Format.PKCS12);
      }
      String alias = keyAliases.get(0);
      PrivateKey key;
      try {
        if (!(ks.getKey(alias, password) instanceof PrivateKey k)) {
          throw noCertificate(file);
        }
        key = k;
      } catch (UnrecoverableKeyException e) {
        throw new CliException(
            ExitCodes.ERROR,
            "wrong_password",
            "The password "
                + (passwordFile == null ? "(empty)" : "in " + passwordFile)
                + " opens "
                + file
                + " but not the private key in it; export the file again with one password for"
                + " both. Nothing was written.");
      }
      List<X509Certificate> chain = new ArrayList<>();
      Certificate[] stored = ks.getCertificateChain(alias);
      for (Certificate c : stored == null ? new Certificate[0] : stored) {
        chain.add((X509Certificate) c);
      }
      if (chain.isEmpty()) {
        throw noCertificate(file);
      }
      requireMatch(key, chain.get(0), file.toString());
      return new Material(List.copyOf(chain), key, Format.PKCS12);
    } catch (GeneralSecurityException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unreadable_certificate",
          file + " cannot be read: " + e.getMessage() + ". Nothing was written.");
    } finally {
      Arrays.fill(password, '\0');
    }
  }

  private static Material readPem(Path file, byte[] bytes, String text, Path keyFile) {
    List<X509Certificate> certs;
    try {
      certs = text.contains("-----BEGIN") ? pemCertificates(text) : derCertificates(bytes);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unreadable_certificate",
          "A certificate in "
              + file
              + " cannot be read ("
              + e.getMessage()
              + "). Nothing was"
              + " written.");
    }
    if (certs.isEmpty()) {
      throw noCertificate(file);
    }
    Optional<byte[]> inFile = pemKey(text, file);
    Optional<byte[]> given = Optional.empty();
    if (keyFile != null) {
      given =
          pemKey(new String(readBytes(keyFile, "key file"), StandardCharsets.ISO_8859_1), keyFile);
      if (given.isEmpty()) {
        throw new CliException(
            ExitCodes.ERROR,
            "no_private_key",
            keyFile
                + " holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\"). Nothing was"
                + " written.");
      }
      if (inFile.isPresent()) {
        throw CliException.usage(
            "two_keys",
            file + " already holds a private key; leave out --key, or give a file without one.");
      }
    }
    Optional<byte[]> der = given.isPresent() ? given : inFile;
    if (der.isEmpty()) {
      return new Material(List.copyOf(certs), null, Format.PEM);
    }
    String where = (keyFile != null ? keyFile : file).toString();
    // The certificate is the one the key belongs to, wherever it stands in the file.
    for (X509Certificate candidate : certs) {
      Optional<PrivateKey> key = parseKey(der.get(), candidate.getPublicKey().getAlgorithm());
      if (key.isPresent() && matches(key.get(), candidate.getPublicKey())) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(candidate);
        certs.stream().filter(c -> !c.equals(candidate)).forEach(chain::add);
        return new Material(List.copyOf(chain), key.get(), Format.PEM);
      }
    }
    throw mismatch(where, certs.get(0), file.toString());
  }

  private static boolean looksLikeDerCertificate(byte[] bytes) {
    try {
      return !derCertificates(bytes).isEmpty();
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static List<X509Certificate> derCertificates(byte[] bytes)
      throws GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(bytes))) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  private static List<X509Certificate> pemCertificates(String text)
      throws GeneralSecurityException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<X509Certificate> out = new ArrayList<>();
    Matcher m = PEM_CERTIFICATE.matcher(text);
    while (m.find()) {
      byte[] der = Base64.getMimeDecoder().decode(m.group(1));
      out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
    }
    return out;
  }

  /** The DER of the PKCS#8 private key in a PEM text, if it holds one. */
  private static Optional<byte[]> pemKey(String text, Path where) {
    Matcher m = PEM_KEY.matcher(text);
    if (!m.find()) {
      return Optional.empty();
    }
    String kind = m.group(1).strip();
    if (!kind.isEmpty()) {
      throw new CliException(
          ExitCodes.ERROR,
          "unsupported_key",
          where
              + " holds a \""
              + kind
              + " PRIVATE KEY\"; Vigil reads unencrypted PKCS#8 keys (\"BEGIN PRIVATE KEY\"):"
              + " convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out NEW.key, or import a"
              + " PKCS#12 file instead. Nothing was written.");
    }
    try {
      return Optional.of(Base64.getMimeDecoder().decode(m.group(2)));
    } catch (IllegalArgumentException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unreadable_key",
          "The private key in " + where + " is damaged (" + e.getMessage() + ").");
    }
  }

  private static Optional<PrivateKey> parseKey(byte[] der, String algorithm) {
    try {
      return Optional.of(
          KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der)));
    } catch (GeneralSecurityException e) {
      return Optional.empty();
    }
  }

  private static void requireMatch(PrivateKey key, X509Certificate certificate, String where) {
    if (!matches(key, certificate.getPublicKey())) {
      throw mismatch(where, certificate, where);
    }
  }

  private static CliException mismatch(String keyWhere, X509Certificate cert, String certWhere) {
    return new CliException(
        ExitCodes.ERROR,
        "key_mismatch",
        "The private key in "
            + keyWhere
            + " does not belong to the certificate "
            + cert.getSubjectX500Principal().getName()
            + " in "
            + certWhere
            + ": give the key that was created with this certificate. Nothing was written.");
  }

  /**
   * Whether {@code key} is the private half of {@code publicKey}: a signature made with the one
   * verifies with the other. The JDK offers no general comparison of key pairs, and a signature
   * works for every key type a certificate can carry.
   */
  static boolean matches(PrivateKey key, PublicKey publicKey) {
    if (!key.getAlgorithm().equalsIgnoreCase(publicKey.getAlgorithm())
        && !(isEdwards(key.getAlgorithm()) && isEdwards(publicKey.getAlgorithm()))) {
      return false;
    }
    try {
      Signature signer = signature(publicKey.getAlgorithm());
      byte[] challenge = new byte[32];
      RANDOM.nextBytes(challenge);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signed = signer.sign();
      Signature verifier = signature(publicKey.getAlgorithm());
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signed);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static boolean isEdwards(String algorithm) {
    return algorithm.equalsIgnoreCase("EdDSA")
        || algorithm.equalsIgnoreCase("Ed25519")
        || algorithm.equalsIgnoreCase("Ed448");
  }

  private static Signature signature(String algorithm) throws GeneralSecurityException {
    String a = algorithm.toUpperCase(Locale.ROOT);
    return switch (a) {
      case "RSA" -> Signature.getInstance("SHA256withRSA");
      case "EC" -> Signature.getInstance("SHA256withECDSA");
      case "DSA" -> Signature.getInstance("SHA256withDSA");
      case "RSASSA-PSS" -> {
        Signature pss = Signature.getInstance("RSASSA-PSS");
        pss.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
        yield pss;
      }
      default -> {
        if (isEdwards(a)) {
          yield Signature.getInstance("EdDSA");
        }
        throw new GeneralSecurityException("no signature for " + algorithm + " keys");
      }
    };
  }

  private static CliException noCertificate(Path file) {
    return new CliException(
        ExitCodes.ERROR,
        "no_certificate",
        file
            + " holds no certificate: import a PKCS#12 file or a PEM file with a \"-----BEGIN"
            + " CERTIFICATE-----\" block (a private key alone cannot be imported). Nothing was"
            + " written.");
  }

  private static byte[] readBytes(Path file, String what) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CliException(
          ExitCodes.NOT_FOUND, "file_not_found", "There is no " + what + " " + file + ".");
    } catch (AccessDeniedException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "file_unreadable",
          "User " + account() + " may not read the " + what + " " + file + ".");
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "file_unreadable",
          "The " + what + " " + file + " cannot be read: " + e.getMessage());
    }
  }

  /** The first line of the password file, without its line ending. */
  private static char[] readPassword(Path file) {
    String text = new String(readBytes(file, "password file"), StandardCharsets.UTF_8);
    int end = text.indexOf('\n');
    String line = end < 0 ? text : text.substring(0, end);
    if (line.endsWith("\r")) {
      line = line.substring(0, line.length() - 1);
    }
    return line.toCharArray();
  }

  // ---- writing

  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: the array is a carrier
  private record Entry(Path file, byte[] bytes) {}

  /** The files of the personal entry, the one the store reads last (the certificate) last. */
  private static List<Entry> personalEntries(Path dir, Material m) {
    String name = m.thumbprint().hex();
    List<Entry> out = new ArrayList<>();
    if (m.format() == Format.PKCS12) {
      char[] password = randomPassword();
      try {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
            name.toLowerCase(Locale.ROOT),
            m.key(),
            password,
            m.chain().toArray(new Certificate[0]));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ks.store(bytes, password);
        out.add(
            new Entry(
                dir.resolve(name + ".p12.password"),
                new String(password).getBytes(StandardCharsets.UTF_8)));
        out.add(new Entry(dir.resolve(name + ".p12"), bytes.toByteArray()));
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalStateException("cannot encode a PKCS#12 file", e);
      } finally {
        Arrays.fill(password, '\0');
      }
    } else {
      StringBuilder chain = new StringBuilder();
      for (X509Certificate c : m.chain()) {
        chain.append(new String(pem("CERTIFICATE", encoded(c)), StandardCharsets.US_ASCII));
      }
      out.add(new Entry(dir.resolve(name + ".key"), pem("PRIVATE KEY", m.key().getEncoded())));
      out.add(
          new Entry(
              dir.resolve(name + ".crt"), chain.toString().getBytes(StandardCharsets.US_ASCII)));
    }
    return out;
  }

  private static char[] randomPassword() {
    byte[] random = new byte[24];
    RANDOM.nextBytes(random);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(random).toCharArray();
  }

  private static void createOwnerOnlyDirectories(Path dir) throws IOException {
    requirePosix();
    OwnerOnlyFiles.createDirectories(dir);
  }

  private static void writeOwnerOnly(Path target, byte[] bytes) throws IOException {
    requirePosix();
    OwnerOnlyFiles.write(target, bytes);
  }

  private static void requirePosix() throws IOException {
    if (!OwnerOnlyFiles.posix()) {
      throw new IOException("this file system has no POSIX permissions to make files owner-only");
    }
  }

  static boolean selfSigned(X509Certificate c) {
    if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
      return false;
    }
    try {
      c.verify(c.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  static boolean keyReadable(StoredCertificate c) {
    try {
      c.privateKey();
      return true;
    } catch (StoredCertificate.KeyAccessException e) {
      return false;
    }
  }

  private static byte[] encoded(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot encode a certificate", e);
    }
  }

  static byte[] pem(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  static String account() {
    return System.getProperty("user.name", "?");
  }
}
