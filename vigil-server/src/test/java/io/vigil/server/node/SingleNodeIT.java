package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single node as an operator runs it: the built distribution's {@code bin/vigil start-dev}, a
 * real process on the embedded database, stopped and killed for real.
 */
class SingleNodeIT {

  static final String ADMIN_PASSWORD = "correct-horse-battery-staple";

  @TempDir Path dir;

  @Test
  void aNodeServesTokensAndTheApiAndKeepsKeysAndDataAcrossRestartsAndCrashes() throws IOException {
    Path data = dir.resolve("data");
    try (NodeProcess node =
        NodeProcess.create("start-dev", data, Map.of("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD))
            .start()) {
      node.awaitReady(Duration.ofSeconds(60));
      assertThat(node.logText()).contains("Vigil is ready at " + node.url());
      String nativeCrypto = System.getenv("VIGIL_NATIVE_CRYPTO");
      if (System.getProperty("os.name").startsWith("Linux")
          && List.of("amd64", "aarch64").contains(System.getProperty("os.arch"))
          && (nativeCrypto == null || !nativeCrypto.strip().equalsIgnoreCase("false"))) {
        // Loaded from the installation's lib/native/<platform>/, which is not on the class path.
        assertThat(node.logText()).contains("Crypto: Amazon Corretto Crypto Provider");
      }
      TestHttp http = new TestHttp(node.url());

      JsonNode discovery = http.get("/idp/.well-known/openid-configuration", null).json();
      assertThat(discovery.get("issuer").asText()).endsWith("/idp");
      assertThat(discovery.get("token_endpoint").asText()).endsWith("/idp/connect/token");

      String token = passwordToken(http);
      TestHttp.Response none = http.get("/api/v1/servers", null);
      assertThat(none.status()).isEqualTo(401);
      assertThat(none.json().get("code").asText()).isEqualTo("unauthorized");
      TestHttp.Response tampered = http.get("/api/v1/servers", tamper(token));
      assertThat(tampered.status()).isEqualTo(401);
      assertThat(tampered.json().get("message").asText()).isNotBlank();
      assertThat(http.get("/api/v1/servers", token).status()).isEqualTo(200);

      // Some data, including secrets of every kind the node stores.
      TestHttp.Response server =
          http.send(
              "POST",
              "/api/v1/servers",
              token,
              "{\"name\":\"rec-01\",\"type\":\"recording-server\",\"address\":\"http://rec-01.local:7563\"}",
              Map.of());
      assertThat(server.status()).as(server.body()).isEqualTo(201);
      String serverId = server.json().get("id").asText();
      String devicePassword = "device-pw-" + System.nanoTime();
      assertThat(
              http.send(
                      "POST",
                      "/api/v1/hardware",
                      token,
                      "{\"name\":\"cam-1\",\"recordingServerId\":\""
                          + serverId
                          + "\",\"address\":\"rtsp://10.9.9.9\",\"password\":\""
                          + devicePassword
                          + "\"}",
                      Map.of())
                  .status())
          .isEqualTo(201);
      TestHttp.Response client =
          http.send(
              "POST",
              "/api/v1/clients",
              token,
              "{\"clientId\":\"rec-01\",\"roles\":[\"component\"]}",
              Map.of());
      assertThat(client.status()).as(client.body()).isEqualTo(201);
      String clientSecret = client.json().get("clientSecret").asText();

      // A graceful restart keeps the signing keys: the token from before still works.
      node.stop();
      node.start().awaitReady(Duration.ofSeconds(60));
      assertThat(http.get("/api/v1/servers/" + serverId, token).status()).isEqualTo(200);
      assertThat(clientCredentialsToken(http, "rec-01", clientSecret)).isNotBlank();

      // So does a crash.
      node.kill();
      node.start().awaitReady(Duration.ofSeconds(60));
      JsonNode servers = http.get("/api/v1/servers", token).json();
      assertThat(servers.get("items"))
          .extracting(n -> n.get("name").asText())
          .containsExactly("rec-01");
      node.stop();

      // Nothing secret is stored in the clear, anywhere in the database files.
      List<String> secrets = List.of(ADMIN_PASSWORD, devicePassword, clientSecret);
      try (Stream<Path> files = Files.walk(data.resolve("db"))) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          String raw = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
          for (String secret : secrets) {
            assertThat(raw)
                .as(f + " must not contain a secret in the clear")
                .doesNotContain(secret);
          }
          assertThat(raw).doesNotContain("PRIVATE KEY");
        }
      }
    }
  }

  @Test
  void anEs256NodePublishesAnEcKeyAndItsTokensCallTheApi() throws Exception {
    Path data = Files.createDirectory(dir.resolve("data"));
    Files.writeString(
        data.resolve("appsettings.json"), "{\"Identity\": {\"SigningAlgorithm\": \"ES256\"}}");
    try (NodeProcess node =
        NodeProcess.create("start-dev", data, Map.of("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD))
            .start()) {
      node.awaitReady(Duration.ofSeconds(60));
      TestHttp http = new TestHttp(node.url());

      JsonNode discovery = http.get("/idp/.well-known/openid-configuration", null).json();
      assertThat(discovery.get("id_token_signing_alg_values_supported").toString())
          .isEqualTo("[\"ES256\"]");
      JsonNode keys = http.get("/idp/.well-known/jwks.json", null).json().get("keys");
      assertThat(keys).hasSize(1);
      JsonNode key = keys.get(0);
      assertThat(key.get("kty").asText()).isEqualTo("EC");
      assertThat(key.get("crv").asText()).isEqualTo("P-256");
      assertThat(key.get("alg").asText()).isEqualTo("ES256");
      assertThat(key.get("use").asText()).isEqualTo("sig");
      assertThat(key.has("d")).isFalse();

      String token = passwordToken(http);
      JWSHeader header = SignedJWT.parse(token).getHeader();
      assertThat(header.getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      assertThat(header.getKeyID()).isEqualTo(key.get("kid").asText());
      assertThat(SignedJWT.parse(token).verify(new ECDSAVerifier(ECKey.parse(key.toString()))))
          .isTrue();
      assertThat(http.get("/api/v1/servers", token).status()).isEqualTo(200);
      assertThat(http.get("/api/v1/servers", tamper(token)).status()).isEqualTo(401);
    }
  }

  static String passwordToken(TestHttp http) {
    TestHttp.Response r =
        http.form(
            "/idp/connect/token",
            "grant_type=password&client_id=vigil-cli&username=admin&password="
                + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
                + "&scope="
                + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8),
            Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("access_token").asText();
  }

  static String clientCredentialsToken(TestHttp http, String clientId, String secret) {
    String basic =
        Base64.getEncoder()
            .encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
    TestHttp.Response r =
        http.form(
            "/idp/connect/token",
            "grant_type=client_credentials&scope=vigil.api",
            Map.of("Authorization", "Basic " + basic));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("access_token").asText();
  }

  /** The token with one character of its signature changed. */
  static String tamper(String token) {
    int i = token.length() - 5;
    char c = token.charAt(i) == 'A' ? 'B' : 'A';
    return token.substring(0, i) + c + token.substring(i + 1);
  }
}
