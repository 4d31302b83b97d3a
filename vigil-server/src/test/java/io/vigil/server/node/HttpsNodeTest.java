package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.http.Json;
import io.vigil.server.protect.Thumbprint;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestCertificates.Issued;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole node in-process on HTTPS, with its certificate from the personal store. */
class HttpsNodeTest {

  static final String ADMIN_PASSWORD = "correct-horse-battery";

  @TempDir static Path dataDir;

  static Issued ca;
  static Issued certificate;
  static Node node;
  static HttpClient client;
  static String base;

  @BeforeAll
  static void startNode() throws IOException {
    ca = TestCertificates.ca("Vigil Test CA");
    certificate = TestCertificates.server("vigil.test", ca);
    TestCertificates.writePkcs12(
        TestCertificates.personal(dataDir), "https", certificate, "store-password");
    writeThumbprint(certificate.thumbprint());
    var settings =
        SettingsLoader.load(
            dataDir,
            Map.of(
                "VIGIL_ADMIN_PASSWORD",
                ADMIN_PASSWORD,
                "VIGIL_MACHINE_KEY_FILE",
                dataDir.resolve("machine.key").toString()),
            new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    node = Node.start(settings);
    client =
        HttpClient.newBuilder()
            .sslContext(TestCertificates.trusting(ca.certificate()))
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    base = "https://localhost:" + node.port();
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  static void writeThumbprint(Thumbprint thumbprint) throws IOException {
    Files.writeString(
        dataDir.resolve("appsettings.json"),
        "{\"Http\": {\"Tls\": {\"Thumbprint\": \"" + thumbprint + "\"}}}");
  }

  static HttpResponse<String> get(String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static Thumbprint servedThumbprint() throws IOException {
    SSLContext trust = TestCertificates.trusting(ca.certificate());
    try (SSLSocket socket =
        (SSLSocket) trust.getSocketFactory().createSocket("127.0.0.1", node.port())) {
      socket.startHandshake();
      return Thumbprint.of((X509Certificate) socket.getSession().getPeerCertificates()[0]);
    }
  }

  @Test
  void healthAnswersOverHttpsWithHsts() throws Exception {
    HttpResponse<String> live = get("/health/live");
    HttpResponse<String> ready = get("/health/ready");

    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(live.headers().firstValue("Strict-Transport-Security")).hasValue("max-age=31536000");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(node.url()).isEqualTo("https://127.0.0.1:" + node.port());
  }

  @Test
  void theNodeIsActiveBecauseItsOwnHealthCheckPassesOverTls() throws Exception {
    assertThat(node.isActive()).isTrue();
    assertThat(get("/cluster/active").statusCode()).isEqualTo(200);
  }

  @Test
  void headAndOptionsOnClusterActiveAnswerTheStatusWithoutABodyForLoadBalancers() throws Exception {
    for (String method : java.util.List.of("HEAD", "OPTIONS")) {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(URI.create(base + "/cluster/active"))
                  .method(method, HttpRequest.BodyPublishers.noBody())
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());

      assertThat(r.statusCode()).as(method).isEqualTo(200);
      assertThat(r.body()).as(method).isEmpty();
      assertThat(r.headers().firstValue("Allow")).as(method).hasValue("GET, HEAD, OPTIONS");
    }
  }

  @Test
  void discoveryShowsAnHttpsIssuer() throws Exception {
    JsonNode discovery = Json.MAPPER.readTree(get("/idp/.well-known/openid-configuration").body());

    assertThat(discovery.get("issuer").asText()).startsWith("https://").endsWith("/idp");
    assertThat(discovery.get("token_endpoint").asText()).startsWith("https://");
    assertThat(node.settings().advertisedUrl()).startsWith("https://");
  }

  @Test
  void tokenEndpointIssuesATokenThatTheApiAccepts() throws Exception {
    String form =
        "grant_type=password&client_id=vigil-cli&scope=openid%20vigil.api&username=admin&password="
            + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8);
    HttpResponse<String> token =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/idp/connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(token.statusCode()).as(token.body()).isEqualTo(200);
    String access = Json.MAPPER.readTree(token.body()).get("access_token").asText();

    HttpResponse<String> users =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/api/v1/users"))
                .header("Authorization", "Bearer " + access)
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(users.statusCode()).isEqualTo(200);
    assertThat(users.headers().firstValue("Strict-Transport-Security")).isPresent();
  }

  @Test
  void aNewCertificateInTheStoreIsServedWithoutARestart() throws Exception {
    Thumbprint before = servedThumbprint();
    Issued renewed = TestCertificates.server("vigil.test", ca);
    TestCertificates.writePem(TestCertificates.personal(dataDir), "renewed", renewed);
    writeThumbprint(renewed.thumbprint());

    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> servedThumbprint().equals(renewed.thumbprint()));

    assertThat(before).isNotEqualTo(renewed.thumbprint());
    assertThat(get("/health/live").statusCode()).isEqualTo(200);
    assertThat(node.http().checkLive()).isNull();
  }
}
