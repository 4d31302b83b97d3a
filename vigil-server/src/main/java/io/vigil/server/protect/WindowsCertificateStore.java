package io.vigil.server.protect;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The Windows personal certificate store of the service account ({@code Windows-MY}, through the
 * JDK's SunMSCAPI provider), with {@code Windows-ROOT} as the trusted roots. Certificates are
 * imported with Windows' own tools ({@code certlm.msc}, {@code Import-PfxCertificate}); the private
 * key's permissions are the ones shown under "Manage Private Keys".
 */
public final class WindowsCertificateStore implements CertificateStore {

  @Override
  public String describe() {
    return "the Windows personal certificate store (Windows-MY)";
  }

  @Override
  public List<StoredCertificate> list() {
    KeyStore ks = open("Windows-MY");
    List<StoredCertificate> out = new ArrayList<>();
    try {
      for (String alias : Collections.list(ks.aliases())) {
        if (ks.getCertificate(alias) instanceof X509Certificate cert) {
          List<X509Certificate> chain = new ArrayList<>();
          var stored = ks.getCertificateChain(alias);
          if (stored != null) {
            for (var c : stored) {
              chain.add((X509Certificate) c);
            }
          } else {
            chain.add(cert);
          }
          out.add(new Entry(ks, alias, List.copyOf(chain)));
        }
      }
    } catch (GeneralSecurityException e) {
      throw new ProtectionException("The Windows personal certificate store cannot be read: " + e);
    }
    out.sort(Comparator.comparing(c -> c.thumbprint().hex()));
    return out;
  }

  @Override
  public List<UnreadableEntry> unreadable() {
    return List.of();
  }

  @Override
  public Optional<String> untrustedReason(StoredCertificate certificate) {
    return CertificatePaths.failure(certificate.chain(), trustedRoots())
        .map(why -> "it does not chain to a root in the Windows trusted root store (" + why + ")");
  }

  @Override
  public List<X509Certificate> trustedRoots() {
    KeyStore roots = open("Windows-ROOT");
    List<X509Certificate> trusted = new ArrayList<>();
    try {
      for (String alias : Collections.list(roots.aliases())) {
        if (roots.getCertificate(alias) instanceof X509Certificate c) {
          trusted.add(c);
        }
      }
    } catch (GeneralSecurityException e) {
      throw new ProtectionException("The Windows trusted root store cannot be read: " + e);
    }
    return trusted;
  }

  private static KeyStore open(String type) {
    try {
      KeyStore ks = KeyStore.getInstance(type);
      ks.load(null, null);
      return ks;
    } catch (GeneralSecurityException | IOException e) {
      throw new ProtectionException(
          "The Windows certificate store " + type + " cannot be opened: " + e);
    }
  }

  private static final class Entry extends StoredChain {
    private final KeyStore store;
    private final String alias;

    Entry(KeyStore store, String alias, List<X509Certificate> chain) {
      super(chain, "Windows-MY:" + alias);
      this.store = store;
      this.alias = alias;
    }

    @Override
    public PrivateKey privateKey() {
      try {
        if (store.getKey(alias, null) instanceof PrivateKey key) {
          return key;
        }
        throw new KeyAccessException("Windows-MY holds no private key for " + alias);
      } catch (GeneralSecurityException e) {
        throw new KeyAccessException(
            "the service account cannot use the private key of " + alias + ": " + e.getMessage(),
            e);
      }
    }
  }
}
