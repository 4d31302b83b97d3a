package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.javalin.http.HandlerType;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.protect.Thumbprint;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestCertificates.Issued;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP server over TLS with a certificate from the store, its replacement without a restart,
 * HSTS, and forwarding headers honoured only from trusted proxies.
 */
class HttpsServerTest {

  static Issued ca;

  @TempDir Path dataDir;
  HttpServer server;

  @BeforeAll
  static void createCa() {
    ca = TestCertificates.ca("Vigil Test CA");
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /** Echoes the resolved client address and scheme. */
  static final RouteModule ECHO =
      api ->
          api.open(
              HandlerType.GET,
              "/echo",
              ctx -> {
                ClientAddress c = ClientAddress.of(ctx);
                ctx.json(Map.of("address", c.address(), "scheme", c.scheme()));
              });

  HttpServer start(Map<String, String> env) {
    Settings s =
        SettingsLoader.load(
            dataDir, new HashMap<>(env), new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    Authenticator refuseAll =
        token -> {
          throw ApiException.unauthorized("no tokens in this test");
        };
    server =
        HttpServer.start(
            s,
            refuseAll,
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            () -> true,
            List.of(ECHO));
    return server;
  }

  HttpServer startHttps(Issued certificate) {
    TestCertificates.writePkcs12(
        TestCertificates.personal(dataDir), "https", certificate, "store-password");
    return start(Map.of("VIGIL_TLS_THUMBPRINT", certificate.thumbprint().toString()));
  }

  static HttpClient client(SSLContext trust) {
    return HttpClient.newBuilder().sslContext(trust).connectTimeout(Duration.ofSeconds(5)).build();
  }

  static HttpResponse<String> get(HttpClient client, String url, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    headers.forEach(b::header);
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Opens a new TLS connection and returns the thumbprint of the certificate it was served. */
  static Thumbprint servedThumbprint(int port) throws IOException {
    SSLContext trust = TestCertificates.trusting(ca.certificate());
    try (SSLSocket socket = (SSLSocket) trust.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.startHandshake();
      return Thumbprint.of((X509Certificate) socket.getSession().getPeerCertificates()[0]);
    }
  }

  @Test
  void servesHttpsWithTheStoredCertificateAndHsts() throws Exception {
    Issued cert = TestCertificates.server("vigil.test", ca);
    startHttps(cert);
    HttpClient client = client(TestCertificates.trusting(ca.certificate()));

    HttpResponse<String> r =
        get(client, "https://localhost:" + server.port() + "/health/live", Map.of());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Strict-Transport-Security")).hasValue("max-age=31536000");
    assertThat(server.scheme()).isEqualTo("https");
    assertThat(server.localUrl()).isEqualTo("https://127.0.0.1:" + server.port());
    assertThat(servedThumbprint(server.port())).isEqualTo(cert.thumbprint());
    assertThat(get(client, server.localUrl() + "/echo", Map.of()).body())
        .contains("\"scheme\":\"https\"");
  }

  @Test
  void clientThatDoesNotTrustTheIssuerIsRefused() {
    startHttps(TestCertificates.server("vigil.test", ca));
    HttpClient stranger =
        client(TestCertificates.trusting(TestCertificates.ca("Other CA").certificate()));

    assertThatThrownBy(() -> get(stranger, server.localUrl() + "/health/live", Map.of()))
        .isInstanceOf(SSLHandshakeException.class);
  }

  @Test
  void clientLimitedToTls12StillConnects() throws Exception {
    startHttps(TestCertificates.server("vigil.test", ca));
    SSLContext trust = TestCertificates.trusting(ca.certificate());
    try (SSLSocket socket =
        (SSLSocket) trust.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      SSLParameters p = socket.getSSLParameters();
      p.setProtocols(new String[] {"TLSv1.2"});
      socket.setSSLParameters(p);
      socket.startHandshake();
      assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.2");
    }
  }

  @Test
  void selfCheckTrustsTheServedCertificateOverLoopback() throws Exception {
    // Names only the cluster address, not 127.0.0.1: the node's own check must still pass.
    Issued cert =
        TestCertificates.builder("vigil.test").dnsNames("vigil.example.com").issuedBy(ca).build();
    startHttps(cert);

    assertThat(server.checkLive()).isNull();
  }

  @Test
  void replacedCertificateIsServedToNewConnectionsWithoutRestart() throws Exception {
    Issued first = TestCertificates.server("first.test", ca);
    Path personal = TestCertificates.personal(dataDir);
    TestCertificates.writePkcs12(personal, "first", first, "pw");
    Path settingsFile = dataDir.resolve("appsettings.json");
    Files.writeString(
        settingsFile, "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + first.thumbprint() + "\"}}}");
    start(Map.of());
    HttpClient client = client(TestCertificates.trusting(ca.certificate()));
    assertThat(servedThumbprint(server.port())).isEqualTo(first.thumbprint());

    Issued renewed = TestCertificates.server("renewed.test", ca);
    TestCertificates.writePem(personal, "renewed", renewed);
    Files.writeString(
        settingsFile, "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + renewed.thumbprint() + "\"}}}");

    assertThat(server.tls().checkForChanges()).isTrue();
    assertThat(servedThumbprint(server.port())).isEqualTo(renewed.thumbprint());
    assertThat(get(client, server.localUrl() + "/health/live", Map.of()).statusCode())
        .isEqualTo(200);
    assertThat(server.checkLive()).isNull();
  }

  @Test
  void plainHttpServerSendsNoHstsAndIgnoresForwardingHeadersFromUntrustedPeers() throws Exception {
    start(Map.of());
    HttpClient client = HttpClient.newHttpClient();

    HttpResponse<String> r =
        get(
            client,
            server.localUrl() + "/echo",
            Map.of("X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https"));

    assertThat(server.scheme()).isEqualTo("http");
    assertThat(r.headers().firstValue("Strict-Transport-Security")).isEmpty();
    assertThat(r.body()).contains("\"address\":\"127.0.0.1\"").contains("\"scheme\":\"http\"");
  }

  @Test
  void forwardingHeadersFromATrustedProxyNameTheClientAndScheme() throws Exception {
    start(Map.of("VIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"));
    HttpClient client = HttpClient.newHttpClient();

    HttpResponse<String> xff =
        get(
            client,
            server.localUrl() + "/echo",
            Map.of("X-Forwarded-For", "203.0.113.9, 10.1.2.3", "X-Forwarded-Proto", "https"));
    HttpResponse<String> forwarded =
        get(
            client,
            server.localUrl() + "/echo",
            Map.of("Forwarded", "for=\"[2001:db8::7]:4711\";proto=https"));

    assertThat(xff.body()).contains("\"address\":\"203.0.113.9\"").contains("\"scheme\":\"https\"");
    assertThat(xff.headers().firstValue("Strict-Transport-Security")).hasValue("max-age=31536000");
    assertThat(forwarded.body()).contains("\"address\":\"2001:db8:0:0:0:0:0:7\"");
  }

  @Test
  void forwardingHeadersAreIgnoredWhenThePeerIsNotAListedProxy() throws Exception {
    start(Map.of("VIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8"));

    HttpResponse<String> r =
        get(
            HttpClient.newHttpClient(),
            server.localUrl() + "/echo",
            Map.of("X-Forwarded-For", "203.0.113.9", "Forwarded", "for=198.51.100.1;proto=https"));

    assertThat(r.body()).contains("\"address\":\"127.0.0.1\"").contains("\"scheme\":\"http\"");
  }
}
