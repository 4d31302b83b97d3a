package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link VigilClient#send} with a {@link TokenSource}, against a node behind a base path. */
class VigilClientSendTest {

  private HttpServer server;
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private final AtomicInteger tokens = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/vigil/",
        exchange -> {
          String body =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          String key = exchange.getRequestMethod() + " " + exchange.getRequestURI();
          seen.add(
              key
                  + " auth="
                  + exchange.getRequestHeaders().getFirst("Authorization")
                  + " if-match="
                  + exchange.getRequestHeaders().getFirst("If-Match")
                  + (body.isEmpty() ? "" : " body=" + body));
          int status;
          String out;
          if (key.equals("POST /vigil/idp/connect/token")) {
            status = 200;
            out = "{\"access_token\":\"tok-" + tokens.incrementAndGet() + "\"}";
          } else if (key.equals("GET /vigil/api/v1/settings")) {
            status = 200;
            out = "{\"a\":1}";
            exchange.getResponseHeaders().add("ETag", "\"r7\"");
          } else if (key.equals("PUT /vigil/api/v1/settings")) {
            status = 412;
            out = "{\"code\":\"precondition_failed\",\"message\":\"changed meanwhile\"}";
          } else if (key.equals("GET /vigil/api/v1/expired")) {
            status = 401;
            out = "{\"code\":\"invalid_token\",\"message\":\"expired\"}";
          } else {
            status = 404;
            out = "{\"code\":\"not_found\",\"message\":\"No " + key + "\"}";
          }
          byte[] bytes = out.getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(status, bytes.length);
          exchange.getResponseBody().write(bytes);
          exchange.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private VigilClient client(boolean renewable) {
    return VigilClient.builder()
        .managementServer("http://127.0.0.1:" + server.getAddress().getPort() + "/vigil/")
        .tokenSource(
            new TokenSource() {
              private String token;

              @Override
              public synchronized String token(VigilClient client) {
                if (token == null) {
                  ApiResponse r =
                      client.send(
                          ApiRequest.of("POST", "/idp/connect/token")
                              .withForm(Map.of("grant_type", "password"))
                              .unauthenticated());
                  token = r.json().path("access_token").asText();
                }
                return token;
              }

              @Override
              public synchronized boolean invalidate(String refused) {
                token = null;
                return renewable;
              }
            })
        .build();
  }

  @Test
  void callsGoBelowTheBasePathWithTheSourcesTokenAndReturnEveryStatusWithItsEtag() {
    try (VigilClient client = client(true)) {
      ApiResponse read = client.send(ApiRequest.get("/api/v1/settings"));
      assertThat(read.status()).isEqualTo(200);
      assertThat(read.etag()).isEqualTo("\"r7\"");
      assertThat(read.json().path("a").asInt()).isEqualTo(1);

      ApiResponse stale =
          client.send(
              ApiRequest.of("PUT", "/api/v1/settings")
                  .withJson(Map.of("a", 2))
                  .withHeader("If-Match", read.etag()));
      assertThat(stale.status()).isEqualTo(412);
      assertThat(stale.error("PUT /api/v1/settings").code()).isEqualTo("precondition_failed");
      assertThat(stale.error("PUT /api/v1/settings").getMessage()).isEqualTo("changed meanwhile");

      assertThat(client.send(ApiRequest.get("/api/v1/nothing")).status()).isEqualTo(404);
    }
    assertThat(seen)
        .containsExactly(
            "POST /vigil/idp/connect/token auth=null if-match=null body=grant_type=password",
            "GET /vigil/api/v1/settings auth=Bearer tok-1 if-match=null",
            "PUT /vigil/api/v1/settings auth=Bearer tok-1 if-match=\"r7\" body={\"a\":2}",
            "GET /vigil/api/v1/nothing auth=Bearer tok-1 if-match=null");
  }

  @Test
  void aRefusedTokenIsRenewedOnceOnlyWhenTheSourceCan() {
    try (VigilClient client = client(true)) {
      assertThat(client.send(ApiRequest.get("/api/v1/expired")).status()).isEqualTo(401);
    }
    assertThat(seen).filteredOn(s -> s.startsWith("GET")).hasSize(2);
    assertThat(tokens.get()).isEqualTo(2);

    seen.clear();
    try (VigilClient client = client(false)) {
      assertThat(client.send(ApiRequest.get("/api/v1/expired")).status()).isEqualTo(401);
    }
    assertThat(seen).filteredOn(s -> s.startsWith("GET")).hasSize(1);
  }

  @Test
  void aBodyThatIsNotJsonIsAnInvalidResponse() {
    ApiResponse r = new ApiResponse(502, null, "<html>Bad gateway</html>");
    assertThatThrownBy(r::json)
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("invalid_response"));
    assertThat(r.error("GET /x").code()).isEqualTo("http_502");
    assertThat(new ApiResponse(204, null, null).json().isMissingNode()).isTrue();
  }

  @Test
  void aClientNeedsCredentialsOrATokenSourceButNotBoth() {
    assertThatThrownBy(() -> VigilClient.builder().managementServer("http://h").build())
        .isInstanceOf(IllegalStateException.class);
  }
}
