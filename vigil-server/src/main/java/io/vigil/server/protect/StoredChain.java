package io.vigil.server.protect;

import java.security.cert.X509Certificate;
import java.util.List;

/** What every store's entries share: the chain, where it lives, and its thumbprint. */
abstract class StoredChain implements StoredCertificate {

  private final List<X509Certificate> chain;
  private final String source;
  private final Thumbprint thumbprint;

  StoredChain(List<X509Certificate> chain, String source) {
    this.chain = List.copyOf(chain);
    this.source = source;
    this.thumbprint = Thumbprint.of(this.chain.get(0));
  }

  @Override
  public final Thumbprint thumbprint() {
    return thumbprint;
  }

  @Override
  public final X509Certificate certificate() {
    return chain.get(0);
  }

  @Override
  public final List<X509Certificate> chain() {
    return chain;
  }

  @Override
  public final String source() {
    return source;
  }
}
