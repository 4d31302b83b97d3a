package io.vigil.server.protect;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust of the node's outbound TLS connections (to external identity providers): the roots of
 * its {@link CertificateStore}, that is, the Java runtime's trust store plus the store's {@code
 * trusted} folder on Linux, or the Windows trusted root store. The roots are read at every
 * handshake, so a CA certificate imported with {@code vigil protect import-cert --trusted} is
 * trusted by the next connection, without a restart.
 *
 * <p>The JDK's PKIX trust manager does every check (chain, validity, and the host name, which the
 * HTTP client asks for); this class only chooses its anchors.
 */
public final class StoreTrust extends X509ExtendedTrustManager {

  private final CertificateStore store;
  private volatile Built built;

  private record Built(List<X509Certificate> roots, X509ExtendedTrustManager pkix) {}

  public StoreTrust(CertificateStore store) {
    this.store = store;
  }

  /** A TLS context for clients that trusts what {@code store} trusts. */
  public static SSLContext sslContext(CertificateStore store) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new StoreTrust(store)}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the Java runtime offers no TLS", e);
    }
  }

  private X509ExtendedTrustManager current() throws CertificateException {
    List<X509Certificate> roots;
    try {
      roots = store.trustedRoots();
    } catch (RuntimeException e) {
      throw new CertificateException(
          "the trusted roots of " + store.describe() + " cannot be read: " + e.getMessage(), e);
    }
    Built b = built;
    if (b == null || !b.roots().equals(roots)) {
      b = new Built(List.copyOf(roots), pkix(roots));
      built = b;
    }
    return b.pkix();
  }

  private static X509ExtendedTrustManager pkix(List<X509Certificate> roots)
      throws CertificateException {
    try {
      KeyStore anchors = KeyStore.getInstance("PKCS12");
      anchors.load(null, null);
      int n = 0;
      for (X509Certificate c : roots) {
        anchors.setCertificateEntry("root-" + n++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(anchors);
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          return x;
        }
      }
      throw new CertificateException("the Java runtime offers no X.509 trust manager");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new CertificateException("cannot set up certificate verification: " + e, e);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current().checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    throw new CertificateException("outbound connections do not authenticate clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    throw new CertificateException("outbound connections do not authenticate clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    throw new CertificateException("outbound connections do not authenticate clients");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    try {
      return current().getAcceptedIssuers();
    } catch (CertificateException e) {
      return new X509Certificate[0];
    }
  }
}
