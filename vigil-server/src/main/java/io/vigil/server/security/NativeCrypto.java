package io.vigil.server.security;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Provider;
import java.security.Security;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
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
 * <p>ACCP is reached by reflection, so that the code compiles and runs where its jar is missing.
 * Its builds for x86-64 and aarch64 hold the same classes and a native library of the same name, so
 * an installation keeps each in {@code lib/native/<platform>/} ({@link #PLATFORM_DIRECTORIES}) and
 * this class loads the one for the platform it runs on in a class loader of its own; one on the
 * class path (as in tests) is used as it is. Token signing asks {@link #signing()} for the provider
 * explicitly rather than relying on the provider order alone.
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
    return osName != null
        && osName.toLowerCase(Locale.ROOT).startsWith("linux")
        && osArch != null
        && PLATFORM_DIRECTORIES.containsKey(osArch.toLowerCase(Locale.ROOT));
  }

  private static String describe() {
    return installed == null
        ? "Crypto: the JDK's providers"
        : "Crypto: Amazon Corretto Crypto Provider " + version(installed) + " (native)";
  }

  /** The folder of {@code lib/native} that holds the provider's build for each architecture. */
  static final Map<String, String> PLATFORM_DIRECTORIES =
      Map.of("amd64", "linux-x86_64", "x86_64", "linux-x86_64", "aarch64", "linux-aarch_64");

  private static Provider load() throws ReflectiveOperationException {
    Class<?> type = providerClass();
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

  /**
   * The provider's class from the class path, else from the jar in {@code lib/native/<platform>/}
   * beside the jar this class came from.
   */
  private static Class<?> providerClass() throws ClassNotFoundException {
    try {
      return Class.forName(PROVIDER_CLASS);
    } catch (ClassNotFoundException notOnClassPath) {
      Optional<Path> jar = platformJar(installationLib(), System.getProperty("os.arch"));
      if (jar.isEmpty()) {
        throw notOnClassPath;
      }
      URL url;
      try {
        url = jar.get().toUri().toURL();
      } catch (MalformedURLException e) {
        throw new ClassNotFoundException(PROVIDER_CLASS + " in " + jar.get(), e);
      }
      // Lives as long as the process: the provider it loads stays installed.
      @SuppressWarnings("resource")
      URLClassLoader loader =
          new URLClassLoader("native-crypto", new URL[] {url}, NativeCrypto.class.getClassLoader());
      return Class.forName(PROVIDER_CLASS, true, loader);
    }
  }

  /** The folder of the jar (or class folder) this class was loaded from, or null. */
  private static Path installationLib() {
    try {
      java.security.CodeSource source = NativeCrypto.class.getProtectionDomain().getCodeSource();
      return source == null ? null : Path.of(source.getLocation().toURI()).getParent();
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /** The provider's jar for {@code osArch} under {@code lib/native}, if the installation has it. */
  static Optional<Path> platformJar(Path lib, String osArch) {
    String platform =
        osArch == null ? null : PLATFORM_DIRECTORIES.get(osArch.toLowerCase(Locale.ROOT));
    if (lib == null || platform == null) {
      return Optional.empty();
    }
    Path dir = lib.resolve("native").resolve(platform);
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static String version(Provider provider) {
    try {
      return (String) provider.getClass().getMethod("getVersionStr").invoke(provider);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return provider.getVersionStr();
    }
  }
}
