package io.vigil.server.testing.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.testing.TestCertificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A real OpenID Connect provider on a lab host: {@code mock-oauth2-server}'s standalone server in
 * its own JVM, serving HTTPS on port {@value #PORT} with a certificate for the host's name, so
 * nodes reach it at {@code https://<host>:8443/<issuer id>} as they would a site's identity
 * provider. It signs every authorization request in at once (no login page) with the claims given
 * to {@link #start}.
 *
 * <p>Its process belongs to the host, so the lab stops it with everything else.
 */
public final class LabOidcProvider implements AutoCloseable {

  public static final int PORT = 8443;
  private static final String KEYSTORE_PASSWORD = "lab-idp-keystore";

  private final Host host;
  private final HostProcess process;

  private LabOidcProvider(Host host, HostProcess process) {
    this.host = host;
    this.process = process;
  }

  /**
   * Starts the provider on {@code host} and waits until it answers over HTTPS from {@code from}.
   *
   * @param ca issues the provider's TLS certificate; clients must trust it ({@code caFile} holds it
   *     in PEM for the readiness check)
   * @param issuerId the path of the issuer: {@code https://<host>:8443/<issuerId>}
   * @param claims the claims of every token it issues, besides those it sets itself ({@code iss},
   *     {@code iat}, {@code exp}, {@code nonce}, ...)
   */
  public static LabOidcProvider start(
      Host host,
      TestCertificates.Issued ca,
      Path caFile,
      String issuerId,
      Map<String, Object> claims,
      Host from) {
    TestCertificates.Issued tls =
        TestCertificates.builder(host.name()).dnsNames(host.name()).issuedBy(ca).build();
    Path keystore = host.dir().resolve("idp-tls.p12");
    Path config = host.dir().resolve("idp-config.json");
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(
          "tls",
          tls.privateKey(),
          KEYSTORE_PASSWORD.toCharArray(),
          tls.chain().toArray(Certificate[]::new));
      try (var out = Files.newOutputStream(keystore)) {
        ks.store(out, KEYSTORE_PASSWORD.toCharArray());
      }
      Files.writeString(config, configJson(keystore, issuerId, claims));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    HostProcess process =
        host.start(
            List.of(
                java.toString(),
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"),
            Map.of(
                "SERVER_HOSTNAME",
                "0.0.0.0",
                "SERVER_PORT",
                Integer.toString(PORT),
                "JSON_CONFIG_PATH",
                config.toString()),
            host.dir().resolve("idp.log"));
    LabOidcProvider provider = new LabOidcProvider(host, process);
    LabHttp http = new LabHttp(from, Duration.ofSeconds(2), caFile);
    String discovery = provider.authority(issuerId) + "/.well-known/openid-configuration";
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (http.status(discovery) != 200) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String log = process.logText();
        provider.close();
        throw new LabException(
            "The OpenID Connect provider on " + host.name() + " did not start; its log:\n" + log);
      }
      Commands.sleep(200);
    }
    return provider;
  }

  private static String configJson(Path keystore, String issuerId, Map<String, Object> claims) {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("interactiveLogin", false);
    ObjectNode server = root.putObject("httpServer");
    server.put("type", "MockWebServerWrapper");
    ObjectNode ssl = server.putObject("ssl");
    ssl.put("keyPassword", KEYSTORE_PASSWORD);
    ssl.put("keystoreFile", keystore.toString());
    ssl.put("keystoreType", "PKCS12");
    ssl.put("keystorePassword", KEYSTORE_PASSWORD);
    ArrayNode callbacks = root.putArray("tokenCallbacks");
    ObjectNode callback = callbacks.addObject();
    callback.put("issuerId", issuerId);
    callback.put("tokenExpiry", 3600);
    ObjectNode mapping = callback.putArray("requestMappings").addObject();
    mapping.put("requestParam", "client_id");
    mapping.put("match", "*");
    mapping.set("claims", json.valueToTree(claims));
    return root.toString();
  }

  /** {@code https://<host>:8443/<issuerId>}. */
  public String authority(String issuerId) {
    return "https://" + host.name() + ":" + PORT + "/" + issuerId;
  }

  @Override
  public void close() {
    process.close();
  }
}
