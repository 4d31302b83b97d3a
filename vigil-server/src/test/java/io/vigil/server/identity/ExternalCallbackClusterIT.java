package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An external provider's callback path lies outside {@code /idp} and {@code /api}: on real nodes,
 * the active node serves it and a standby redirects it to the active node like the API.
 */
class ExternalCallbackClusterIT {

  @TempDir Path dir;

  private final HttpClient http =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  @Test
  void theActiveNodeServesTheCallbackAndAStandbyRedirectsItThere() throws Exception {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(2)) {
      NodeProcess active = cluster.awaitActive(Duration.ofSeconds(60));
      NodeProcess standby =
          cluster.nodes().stream().filter(n -> n != active).findFirst().orElseThrow();

      String form =
          "grant_type=password&client_id=vigil-cli&username=admin&password="
              + URLEncoder.encode(ClusterFixture.ADMIN_PASSWORD, StandardCharsets.UTF_8);
      // Right after the role is placed the first sign-in was seen once to race the bootstrap of the
      // built-in clients, so sign in until it works (or time out with the last answer).
      HttpResponse<String> token = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      do {
        if (token != null) {
          Thread.sleep(200);
        }
        token =
            http.send(
                HttpRequest.newBuilder(URI.create(active.url() + "/idp/connect/token"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(form))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
      } while (token.statusCode() != 200 && System.nanoTime() < deadline);
      String body = token.body();
      assertThat(token.statusCode()).as(body).isEqualTo(200);
      String admin = Json.MAPPER.readTree(token.body()).get("access_token").asText();
      HttpResponse<String> created =
          http.send(
              HttpRequest.newBuilder(URI.create(active.url() + "/api/v1/identity/providers"))
                  .header("Authorization", "Bearer " + admin)
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"name\":\"entra\",\"authority\":\"https://login.example.com/t\","
                              + "\"clientId\":\"c\",\"clientSecret\":\"s\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);

      String callback = "/signin-oidc?code=abc&state=never-issued";
      HttpResponse<String> atActive = get(active.url() + callback);
      assertThat(atActive.statusCode()).as(atActive.body()).isEqualTo(400);
      JsonNode error = Json.MAPPER.readTree(atActive.body());
      assertThat(error.get("code").asText()).isEqualTo("unknown_state");

      HttpResponse<String> atStandby = get(standby.url() + callback);
      assertThat(atStandby.statusCode()).isEqualTo(307);
      assertThat(atStandby.headers().firstValue("Location")).hasValue(active.url() + callback);
      // Not a callback path anywhere: the active node says so.
      assertThat(get(active.url() + "/signin-other").statusCode()).isEqualTo(404);
    }
  }

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).header("Accept", "application/json").GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
