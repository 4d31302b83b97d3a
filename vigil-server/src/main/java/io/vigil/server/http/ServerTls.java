package io.vigil.server.http;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTPS certificate: found by {@code Http.Tls.Thumbprint} in the personal certificate
 * store, checked, and served through one Jetty {@link SslContextFactory.Server} (TLS 1.2 and 1.3
 * only).
 *
 * <p>{@link #load} checks everything that would otherwise fail later or silently: the thumbprint
 * names a certificate in the store, the certificate is valid now, its private key is readable and
 * belongs to it, and it may be used for a TLS server. Each failure is a {@link ConfigException}
 * whose one-line message names the certificate, the cause and the fix.
 *
 * <p>While the server runs, {@link #checkForChanges} (every {@link #CHECK_INTERVAL} once {@link
 * #watch} is called) looks again at {@code appsettings.json} and the store. When the configured
 * thumbprint changes (as {@code vigil protect use --tls} does) or the served certificate's chain
 * changes in the store, the new certificate goes through the same checks and replaces the old one
 * with {@link SslContextFactory#reload}: connections opened after that get the new certificate,
 * open connections keep the old one until they close. A replacement that fails a check is logged
 * (once per distinct problem) and the node keeps serving the certificate it has; it is tried again
 * at every check until it passes or the configuration changes. Turning HTTPS off needs a restart.
 *
 * <p>Thread-safe: checks run one at a time, and the factory's reload is atomic for new handshakes.
 */
public final class ServerTls implements AutoCloseable {

  /** How often a running node looks for a new certificate or thumbprint. */
  public static final Duration CHECK_INTERVAL = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
  private static final String ALIAS = "vigil-https";
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String ANY_USAGE = "2.5.29.37.0";
  private static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  private final Settings settings;
  private final CertificateStore store;
  private final Clock clock;
  private final SslContextFactory.Server factory;
  private volatile Material current;
  private List<Object> checkedSnapshot;
  private String lastProblem;
  private ScheduledExecutorService watcher;

  /** What is served: the certificate chain and its private key. */
  private record Material(
      Thumbprint thumbprint, String describe, List<X509Certificate> chain, PrivateKey key) {
    boolean sameAs(Material other) {
      return other != null && thumbprint.equals(other.thumbprint) && chain.equals(other.chain);
    }

    @Override
    public String toString() {
      return describe;
    }
  }

  private ServerTls(
      Settings settings, CertificateStore store, Clock clock, Material material, List<Object> at) {
    this.settings = settings;
    this.store = store;
    this.clock = clock;
    this.current = material;
    this.checkedSnapshot = at;
    this.factory = new SslContextFactory.Server();
    factory.setIncludeProtocols("TLSv1.3", "TLSv1.2");
    factory.setRenegotiationAllowed(false);
    factory.setSniRequired(false);
    apply(factory, material);
  }

  /**
   * The node's TLS certificate from the platform's personal store, or null when the settings name
   * none (the node serves plain HTTP).
   *
   * @throws ConfigException when the certificate cannot be served; the message says why and how to
   *     fix it
   */
  public static ServerTls load(Settings settings) {
    if (!settings.http.tlsEnabled()) {
      return null;
    }
    return load(settings, CertificateStore.forPlatform(settings.dataDir), Clock.systemUTC());
  }

  /** As {@link #load(Settings)} with a given store and clock (tests). */
  static ServerTls load(Settings settings, CertificateStore store, Clock clock) {
    Thumbprint thumbprint = Thumbprint.parse(settings.http.tls.thumbprint);
    List<Object> snapshot = snapshot(settings, store);
    Material material = material(store, thumbprint, clock.instant());
    warnIfExpiringOrUntrusted(store, material, clock.instant());
    return new ServerTls(settings, store, clock, material, snapshot);
  }

  /** Jetty's factory serving the current certificate. */
  public SslContextFactory.Server factory() {
    return factory;
  }

  /** When the certificate served now expires. */
  public Instant notAfter() {
    return current.chain().get(0).getNotAfter().toInstant();
  }

  /** Thumbprint of the certificate new connections get. */
  public Thumbprint thumbprint() {
    return current.thumbprint();
  }

  /** {@code subject (thumbprint …)} of the served certificate, for log lines. */
  public String describe() {
    return current.describe();
  }

  /** Starts checking for a new certificate every {@link #CHECK_INTERVAL}. */
  @SuppressWarnings("FutureReturnValueIgnored") // the task catches and logs its own failures
  public synchronized void watch() {
    if (watcher != null) {
      return;
    }
    watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "vigil-tls-watch");
              t.setDaemon(true);
              return t;
            });
    long ms = CHECK_INTERVAL.toMillis();
    watcher.scheduleWithFixedDelay(
        () -> {
          try {
            checkForChanges();
          } catch (RuntimeException e) {
            log.error("Checking the HTTPS certificate for changes failed", e);
          }
        },
        ms,
        ms,
        TimeUnit.MILLISECONDS);
  }

  /**
   * Looks at the configuration and the store once, and serves a new certificate if one is
   * configured (or the served one's chain changed) and it passes the start-up checks.
   *
   * @return true when a new certificate is now served
   */
  public synchronized boolean checkForChanges() {
    List<Object> snapshot = snapshot(settings, store);
    if (snapshot.equals(checkedSnapshot)) {
      return false;
    }
    Material next;
    try {
      String configured = SettingsLoader.currentTlsThumbprint(settings);
      if (configured == null) {
        problem(
            "Http.Tls.Thumbprint is no longer set; the node keeps serving HTTPS with "
                + current.describe()
                + " until it restarts (serving plain HTTP needs a restart with"
                + " Http.AllowPlainHttp).");
        checkedSnapshot = snapshot;
        return false;
      }
      next = material(store, Thumbprint.parse(configured), clock.instant());
    } catch (ConfigException | IllegalArgumentException e) {
      // Not recorded as checked: a certificate written in several steps (PEM certificate, then its
      // key) is tried again at the next check.
      problem(e.getMessage() + " The node keeps serving " + current.describe() + ".");
      return false;
    }
    checkedSnapshot = snapshot;
    lastProblem = null;
    if (next.sameAs(current)) {
      return false;
    }
    try {
      factory.reload(f -> apply(f, next));
    } catch (Exception e) {
      problem(
          "Serving the new HTTPS certificate "
              + next.describe()
              + " failed ("
              + e.getMessage()
              + "); the node keeps serving "
              + current.describe()
              + ".");
      checkedSnapshot = null;
      return false;
    }
    Material previous = current;
    current = next;
    log.info(
        "HTTPS certificate replaced without a restart: new connections get {} (was {})",
        next.describe(),
        previous.describe());
    warnIfExpiringOrUntrusted(store, next, clock.instant());
    return true;
  }

  @Override
  public synchronized void close() {
    if (watcher != null) {
      watcher.shutdownNow();
      watcher = null;
    }
  }

  private void problem(String message) {
    if (!message.equals(lastProblem)) {
      log.warn(message);
      lastProblem = message;
    }
  }

  private static void apply(SslContextFactory f, Material m) {
    // The key store exists only in memory; its password protects nothing on disk, but the JDK's
    // key managers need one.
    String password = randomPassword();
    try {
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      keyStore.load(null, null);
      keyStore.setKeyEntry(
          ALIAS, m.key(), password.toCharArray(), m.chain().toArray(new X509Certificate[0]));
      f.setKeyStore(keyStore);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot hold the HTTPS certificate in memory", e);
    }
    f.setKeyStorePassword(password);
    f.setKeyManagerPassword(password);
    f.setCertAlias(ALIAS);
  }

  /**
   * Checks, without serving it, the certificate {@code thumbprint} names in {@code store} exactly
   * as a node checks its HTTPS certificate at start: present, valid at {@code now}, usable by a TLS
   * server, with a private key that can be read and belongs to it.
   *
   * @throws ConfigException naming the certificate, the cause and the fix
   */
  public static void check(CertificateStore store, Thumbprint thumbprint, Instant now) {
    material(store, thumbprint, now);
  }

  /**
   * Finds and checks the certificate named by {@code thumbprint}.
   *
   * @throws ConfigException naming the certificate, the cause and the fix
   */
  private static Material material(CertificateStore store, Thumbprint thumbprint, Instant now) {
    Optional<StoredCertificate> found = store.find(thumbprint);
    if (found.isEmpty()) {
      throw new ConfigException(notFound(store, thumbprint));
    }
    StoredCertificate stored = found.get();
    X509Certificate cert = stored.certificate();
    String what = "The HTTPS certificate " + stored.describe() + " in " + stored.source();
    if (now.isAfter(cert.getNotAfter().toInstant())) {
      throw new ConfigException(
          what
              + " expired on "
              + cert.getNotAfter().toInstant()
              + ". Import its renewal into the store and point Http.Tls.Thumbprint at the new"
              + " certificate (vigil protect use --tls --thumbprint T).");
    }
    if (now.isBefore(cert.getNotBefore().toInstant())) {
      throw new ConfigException(
          what
              + " is not valid before "
              + cert.getNotBefore().toInstant()
              + ". Check this machine's clock, or wait until then, or use a certificate that is"
              + " valid now.");
    }
    checkServerUsage(cert, what);
    PrivateKey key;
    try {
      key = stored.privateKey();
    } catch (StoredCertificate.KeyAccessException e) {
      throw new ConfigException(
          what
              + " has no private key this node can use: "
              + e.getMessage()
              + ". Import the certificate together with its private key (a PKCS#12 file, or"
              + " NAME.key beside NAME.crt) and let the service account ("
              + System.getProperty("user.name", "the service account")
              + ") read it, owner-only (chmod 600).");
    }
    if (!keyBelongsTo(key, cert)) {
      throw new ConfigException(
          what
              + ": the private key stored with it belongs to another certificate. Import the"
              + " certificate again with its own private key.");
    }
    return new Material(thumbprint, stored.describe(), stored.chain(), key);
  }

  private static String notFound(CertificateStore store, Thumbprint thumbprint) {
    List<StoredCertificate> all = store.list();
    String holds =
        all.isEmpty()
            ? "it holds no certificate"
            : "it holds "
                + all.stream().map(StoredCertificate::describe).collect(Collectors.joining(", "));
    List<CertificateStore.UnreadableEntry> unreadable = store.unreadable();
    String bad =
        unreadable.isEmpty()
            ? ""
            : "; it cannot read "
                + unreadable.stream()
                    .map(u -> u.source() + " (" + u.cause() + ")")
                    .collect(Collectors.joining(", "));
    return "Http.Tls.Thumbprint "
        + thumbprint
        + " names no certificate in "
        + store.describe()
        + " ("
        + holds
        + bad
        + "). Import the certificate with its private key (vigil protect import-cert), or"
        + " correct the thumbprint (vigil protect list-certs shows them).";
  }

  /** A certificate whose extended key usage excludes TLS servers would fail every handshake. */
  private static void checkServerUsage(X509Certificate cert, String what) {
    List<String> usages;
    try {
      usages = cert.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      throw new ConfigException(what + " has an unreadable extended key usage; replace it.");
    }
    if (usages != null && !usages.contains(SERVER_AUTH) && !usages.contains(ANY_USAGE)) {
      throw new ConfigException(
          what
              + " may not be used by a TLS server (its extended key usage lacks serverAuth). Use"
              + " a certificate issued for TLS Web Server Authentication.");
    }
  }

  /** Signs a random challenge with the key and verifies it with the certificate's public key. */
  private static boolean keyBelongsTo(PrivateKey key, X509Certificate cert) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          case "Ed25519", "EdDSA" -> "Ed25519";
          case "Ed448" -> "Ed448";
          default -> null;
        };
    if (algorithm == null) {
      // An algorithm this check does not know; the TLS handshake itself will tell.
      return true;
    }
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static void warnIfExpiringOrUntrusted(
      CertificateStore store, Material material, Instant now) {
    Instant notAfter = material.chain().get(0).getNotAfter().toInstant();
    if (Duration.between(now, notAfter).compareTo(EXPIRY_WARNING) < 0) {
      log.warn(
          "The HTTPS certificate {} expires on {}: import its renewal and point"
              + " Http.Tls.Thumbprint at it (picked up without a restart)",
          material.describe(),
          notAfter);
    }
    store
        .find(material.thumbprint())
        .flatMap(store::untrustedReason)
        .ifPresent(
            reason ->
                log.warn(
                    "The HTTPS certificate {} is not trusted by this machine ({}); clients must"
                        + " be given its issuer (vigil ... --cacert FILE)",
                    material.describe(),
                    reason));
  }

  /**
   * What the checks depend on, cheaply: the settings file and the personal store folder's entries
   * with their sizes and times. A store without a folder (Windows) is looked at every time.
   */
  private static List<Object> snapshot(Settings settings, CertificateStore store) {
    List<Object> parts = new ArrayList<>();
    if (!settings.http.tls.thumbprintFromEnvironment) {
      parts.add(stat(settings.dataDir.resolve(SettingsLoader.FILE_NAME)));
    }
    if (store instanceof FileCertificateStore files) {
      Path personal = files.personal();
      parts.add(stat(personal));
      if (Files.isDirectory(personal)) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(personal)) {
          List<String> stats = new ArrayList<>();
          for (Path p : entries) {
            stats.add(stat(p));
          }
          stats.sort(null);
          parts.add(stats);
        } catch (IOException e) {
          parts.add("unreadable: " + e.getMessage());
        }
      }
    } else {
      parts.add(System.nanoTime());
    }
    return parts;
  }

  private static String stat(Path p) {
    try {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      return p.getFileName() + " " + a.size() + " " + a.lastModifiedTime().toMillis();
    } catch (NoSuchFileException e) {
      return p.getFileName() + " missing";
    } catch (IOException e) {
      return p.getFileName() + " unreadable";
    }
  }

  private static String randomPassword() {
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
