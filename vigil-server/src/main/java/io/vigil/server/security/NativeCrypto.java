package io.vigil.server.security;

import java.lang.reflect.InvocationTargetException;
import java.security.Provider;
import java.security.Security;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Amazon Corretto Crypto Provider (ACCP): AWS-LC's native cryptography behind the Java
 * Cryptography Architecture. It signs RS256 about three times as fast as the JDK's own provider,
 * which is what bounds the token endpoint (docs/performance.md). A node installs it first in the
 * provider list at start ({@link #configure}) when {@code Node.NativeCrypto} (or {@code
 * VIGIL_NATIVE_CRYPTO}) is true, the default, on Linux x86-64 or aarch64, and only when its native
 * library loads and its self-tests pass; otherwise the JDK's providers serve. Either way it logs
 * one line saying which.
 *
 * <p>ACCP is a runtime dependency and is reached by reflection, so that the code compiles and runs
 * where its jar is missing. Token signing asks {@link #signing()} for the provider explicitly
 * rather than relying on the provider order alone.
 */
public final class NativeCrypto {

  /** The environment variable that turns it off ({@code false}) for a node or a test run. */
  public static final String ENV = "VIGIL_NATIVE_CRYPTO";

  static final String PROVIDER_CLASS =
      "com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider";

  private static final Logger log = LoggerFactory.getLogger(NativeCrypto.class);

  // Guarded by the class: set by configure, read by signing().
  private static Provider installed;
  private static Boolean decided;

  private NativeCrypto() {}

  /**
   * Installs ACCP as the first provider when {@code enabled} and it loads, or removes it when not
   * enabled; logs which providers serve. Repeating the last decision does nothing (several nodes
   * may start in one process, as in tests).
   *
   * @return a line describing the providers in use, as logged
   */
  public static synchronized String configure(boolean enabled) {
    if (decided != null && decided == enabled) {
      return describe();
    }
    decided = enabled;
    if (!enabled) {
      if (installed != null) {
        Security.removeProvider(installed.getName());
        installed = null;
      }
      log.info("{} (Node.NativeCrypto or {} is false)", describe(), ENV);
      return describe();
    }
    String platform = System.getProperty("os.name") + " " + System.getProperty("os.arch");
    if (!supported(System.getProperty("os.name"), System.getProperty("os.arch"))) {
      log.info("{} (no native provider for {})", describe(), platform);
      return describe();
    }
    try {
      installed = load();
      log.info(describe());
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      installed = null;
      Throwable cause = e instanceof InvocationTargetException i ? i.getCause() : e;
      log.info(
          "{} (the Amazon Corretto Crypto Provider did not load on {}: {})",
          describe(),
          platform,
          cause);
    }
    return describe();
  }

  /**
   * The provider that signs tokens: ACCP when a node installed it, otherwise null, which means the
   * JDK's. Code that runs without a node (tests of a single part) decides here on first use, from
   * {@value #ENV} alone.
   */
  public static synchronized Optional<Provider> signing() {
    if (decided == null) {
      configure(enabledIn(System.getenv()));
    }
    return Optional.ofNullable(installed);
  }

  /** Whether {@value #ENV} in {@code env} leaves it on: anything but {@code false} does. */
  static boolean enabledIn(Map<String, String> env) {
    String value = env.get(ENV);
    return value == null || !value.strip().equalsIgnoreCase("false");
  }

  static boolean supported(String osName, String osArch) {
    String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
    return osName != null
        && osName.toLowerCase(Locale.ROOT).startsWith("linux")
        && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"));
  }

  private static String describe() {
    return installed == null
        ? "Crypto: the JDK's providers"
        : "Crypto: Amazon Corretto Crypto Provider " + version(installed) + " (native)";
  }

  private static Provider load() throws ReflectiveOperationException {
    Class<?> type = Class.forName(PROVIDER_CLASS);
    Provider provider = (Provider) type.getField("INSTANCE").get(null);
    Throwable loading = (Throwable) type.getMethod("getLoadingError").invoke(provider);
    if (loading != null) {
      throw new IllegalStateException(loading.toString(), loading);
    }
    // Runs its self-tests; throws when the native code misbehaves.
    type.getMethod("assertHealthy").invoke(provider);
    type.getMethod("install").invoke(null);
    if (Security.getProvider(provider.getName()) == null) {
      throw new IllegalStateException("install() left it out of the provider list");
    }
    return provider;
  }

  private static String version(Provider provider) {
    try {
      return (String) provider.getClass().getMethod("getVersionStr").invoke(provider);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return provider.getVersionStr();
    }
  }
}
