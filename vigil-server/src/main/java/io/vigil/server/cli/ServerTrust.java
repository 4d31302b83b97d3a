package io.vigil.server.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Which server certificates the administrative commands accept: those that chain to a root of the
 * Java runtime's trust store (on many Linux distributions, the system's CA bundle) or to a
 * certificate of the {@code --cacert} file (PEM, one or more certificates; {@code VIGIL_CACERT}),
 * for the host name in {@code --server}. There is deliberately no way to turn verification off: a
 * self-signed node certificate is trusted by giving it (or its CA) with {@code --cacert}.
 *
 * <p>The JDK does every check (chain, validity, host name); this class only keeps the chain a
 * server presented, so that {@link #explain} can say which certificate failed and why in one line.
 */
final class ServerTrust {

  private final SSLContext context;
  private final Recording recording;
  private final Path caCert;

  private ServerTrust(SSLContext context, Recording recording, Path caCert) {
    this.context = context;
    this.recording = recording;
    this.caCert = caCert;
  }

  /**
   * The runtime's trust store, plus the certificates of {@code caCert} when not null.
   *
   * @throws CliException (usage) when the file cannot be read or holds no certificate
   */
  static ServerTrust load(Path caCert) {
    try {
      KeyStore anchors = KeyStore.getInstance("PKCS12");
      anchors.load(null, null);
      int n = 0;
      for (X509Certificate c : runtimeRoots()) {
        anchors.setCertificateEntry("runtime-" + n++, c);
      }
      if (caCert != null) {
        List<X509Certificate> extra = readPem(caCert);
        for (int i = 0; i < extra.size(); i++) {
          anchors.setCertificateEntry("cacert-" + i, extra.get(i));
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(anchors);
      X509ExtendedTrustManager pkix = null;
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          pkix = x;
        }
      }
      if (pkix == null) {
        throw new IllegalStateException("the Java runtime offers no X.509 trust manager");
      }
      Recording recording = new Recording(pkix);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {recording}, null);
      return new ServerTrust(context, recording, caCert);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot set up certificate verification", e);
    }
  }

  SSLContext sslContext() {
    return context;
  }

  /**
   * One line for a TLS failure talking to {@code server}: host name mismatch, untrusted issuer,
   * expired, or a node that does not speak TLS, each with the fix.
   */
  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  CliException explain(SSLException e, URI server) {
    String origin =
        "https://" + server.getHost() + (server.getPort() < 0 ? "" : ":" + server.getPort());
    X509Certificate leaf = recording.lastLeaf();
    String cert = leaf == null ? "The certificate of " + origin : describe(leaf, origin);
    String trustedBy = "the Java runtime's trust store" + (caCert == null ? "" : " or " + caCert);
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage() == null ? "" : t.getMessage();
      if (t instanceof CertificateExpiredException
          || (leaf != null && m.contains("validity check failed") && expired(leaf))) {
        return new CliException(
            ExitCodes.ERROR,
            "tls_expired",
            cert
                + " expired on "
                + leaf.getNotAfter().toInstant()
                + ": the node must be given a renewed certificate.");
      }
      if (t instanceof CertificateNotYetValidException) {
        return new CliException(
            ExitCodes.ERROR,
            "tls_not_yet_valid",
            cert + " is not valid yet: check this machine's clock and the node's.");
      }
      if (m.contains("No subject alternative") || m.contains("No name matching")) {
        return new CliException(
            ExitCodes.ERROR,
            "tls_host_mismatch",
            cert
                + " is not issued for the host name \""
                + server.getHost()
                + "\""
                + (leaf == null ? "" : " (it names " + names(leaf) + ")")
                + ": use --server with a name the certificate lists, or give the node a"
                + " certificate for this name.");
      }
      if (m.contains("PKIX path") || m.contains("certification path")) {
        return new CliException(
            ExitCodes.ERROR,
            "tls_untrusted",
            cert
                + " is not trusted: it does not chain to a certificate in "
                + trustedBy
                + ". Give the certificate of the node's issuing CA (or the node's own"
                + " self-signed certificate) with --cacert FILE (PEM), or VIGIL_CACERT.");
      }
      if (m.contains("Unsupported or unrecognized SSL message")
          || m.contains("plaintext connection")) {
        return new CliException(
            ExitCodes.ERROR,
            "tls_not_https",
            "The node at "
                + origin
                + " does not speak HTTPS on that port: if it serves plain HTTP (behind a"
                + " TLS-terminating proxy, or start-dev), use http://, or use the proxy's https://"
                + " address.");
      }
    }
    return new CliException(
        ExitCodes.ERROR,
        "tls_failed",
        "The TLS handshake with " + origin + " failed: " + e.getMessage() + ".");
  }

  private static boolean expired(X509Certificate leaf) {
    return java.time.Instant.now().isAfter(leaf.getNotAfter().toInstant());
  }

  private static String describe(X509Certificate leaf, String origin) {
    return "The certificate of "
        + origin
        + " ("
        + leaf.getSubjectX500Principal().getName()
        + ", issued by "
        + leaf.getIssuerX500Principal().getName()
        + ")";
  }

  /** The DNS names and IP addresses a certificate lists, for messages. */
  private static String names(X509Certificate leaf) {
    List<String> out = new ArrayList<>();
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          Object type = san.get(0);
          if (Integer.valueOf(2).equals(type) || Integer.valueOf(7).equals(type)) {
            out.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // Fall through to "no names".
    }
    return out.isEmpty() ? "no host names" : String.join(", ", out);
  }

  private static List<X509Certificate> runtimeRoots() throws GeneralSecurityException {
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init((KeyStore) null);
    List<X509Certificate> out = new ArrayList<>();
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        out.addAll(List.of(x.getAcceptedIssuers()));
      }
    }
    return out;
  }

  /** The certificates of a PEM (or DER) file. */
  static List<X509Certificate> readPem(Path file) {
    String option = "--cacert " + file;
    Collection<? extends Certificate> all;
    try (InputStream in = Files.newInputStream(file)) {
      all = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (NoSuchFileException e) {
      throw CliException.usage("invalid_cacert", option + ": the file does not exist.");
    } catch (IOException e) {
      throw CliException.usage(
          "invalid_cacert", option + ": the file cannot be read (" + e.getMessage() + ").");
    } catch (CertificateException e) {
      throw CliException.usage(
          "invalid_cacert",
          option
              + ": not a PEM file of certificates (\"-----BEGIN CERTIFICATE-----\" blocks): "
              + e.getMessage().toLowerCase(Locale.ROOT)
              + ".");
    }
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c : all) {
      if (c instanceof X509Certificate x) {
        out.add(x);
      }
    }
    if (out.isEmpty()) {
      throw CliException.usage(
          "invalid_cacert", option + ": the file holds no certificate (expected PEM).");
    }
    return out;
  }

  /** Delegates every check to the JDK's PKIX trust manager and keeps the last chain it saw. */
  private static final class Recording extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    private volatile X509Certificate lastLeaf;

    Recording(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    X509Certificate lastLeaf() {
      return lastLeaf;
    }

    private void record(X509Certificate[] chain) {
      lastLeaf = chain == null || chain.length == 0 ? null : chain[0];
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      record(chain);
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      record(chain);
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      record(chain);
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
