import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The signing ceiling of a crypto provider inside one JVM: signatures per second of a token-sized
 * message (400 bytes) on a number of threads, after a warm-up. Run as a source file with the node's
 * lib folder on the class path, so that the provider is the node's:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED \
 *     -cp 'vigil-server/target/vigil/lib/*:vigil-server/target/vigil/lib/native/linux-x86_64/*' \
 *     bench/SignSpeed.java \
 *     native|jdk RS256|ES256 THREADS SECONDS
 * </pre>
 *
 * <p>"native" is the Amazon Corretto Crypto Provider that the node installs when it loads; "jdk" is
 * the JDK's own providers. Prints one line: {@code <provider> <algorithm> <threads> <sign/s>}.
 */
public final class SignSpeed {

  private static final int WARMUP_SECONDS = 2;

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: SignSpeed native|jdk RS256|ES256 THREADS SECONDS");
      System.exit(2);
    }
    Provider provider = switch (args[0]) {
      case "native" -> nativeProvider();
      case "jdk" -> null;
      default -> throw new IllegalArgumentException("provider: native or jdk, not " + args[0]);
    };
    String algorithm = args[1];
    int threads = Integer.parseInt(args[2]);
    int seconds = Integer.parseInt(args[3]);
    KeyPair keys = keys(algorithm, provider);
    String jca = algorithm.equals("RS256") ? "SHA256withRSA" : "SHA256withECDSA";
    byte[] message = new byte[400];
    LongAdder signed = new LongAdder();
    long start = System.nanoTime();
    long measureFrom = start + WARMUP_SECONDS * 1_000_000_000L;
    long end = measureFrom + seconds * 1_000_000_000L;
    List<Thread> workers = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t =
          new Thread(
              () -> {
                try {
                  Signature s =
                      provider == null
                          ? Signature.getInstance(jca)
                          : Signature.getInstance(jca, provider);
                  s.initSign(keys.getPrivate());
                  long now;
                  while ((now = System.nanoTime()) < end) {
                    s.update(message);
                    s.sign();
                    if (now >= measureFrom) {
                      signed.increment();
                    }
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      t.start();
      workers.add(t);
    }
    for (Thread t : workers) {
      t.join();
    }
    System.out.printf(
        "%s %s %d %.1f%n",
        provider == null ? "jdk" : "native", algorithm, threads, signed.sum() / (double) seconds);
  }

  private static KeyPair keys(String algorithm, Provider provider) throws Exception {
    KeyPairGenerator generator =
        switch (algorithm) {
          case "RS256" -> generator("RSA", provider);
          case "ES256" -> generator("EC", provider);
          default -> throw new IllegalArgumentException("algorithm: RS256 or ES256, not " + algorithm);
        };
    if (algorithm.equals("RS256")) {
      generator.initialize(2048);
    } else {
      generator.initialize(new ECGenParameterSpec("secp256r1"));
    }
    return generator.generateKeyPair();
  }

  private static KeyPairGenerator generator(String type, Provider provider) throws Exception {
    return provider == null
        ? KeyPairGenerator.getInstance(type)
        : KeyPairGenerator.getInstance(type, provider);
  }

  private static Provider nativeProvider() throws Exception {
    Class<?> accp =
        Class.forName("com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider");
    Provider p = (Provider) accp.getField("INSTANCE").get(null);
    accp.getMethod("assertHealthy").invoke(p);
    return p;
  }
}
