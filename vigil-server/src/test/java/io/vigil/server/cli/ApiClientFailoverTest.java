package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The CLI's client on the SDK's transport: a standby's redirect, a base path behind a reverse
 * proxy, a refusal that did not act.
 */
class ApiClientFailoverTest {

  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
  private final List<String> seen = new CopyOnWriteArrayList<>();

  record Answer(int status, String body, String location) {}

  private String node(String name, Function<String, Answer> answers) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          String key = exchange.getRequestMethod() + " " + exchange.getRequestURI();
          seen.add(name + " " + key);
          Answer a = answers.apply(key);
          byte[] out = a.body().getBytes(StandardCharsets.UTF_8);
          if (a.location() != null) {
            exchange.getResponseHeaders().add("Location", a.location());
          }
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(a.status(), out.length == 0 ? -1 : out.length);
          if (out.length > 0) {
            exchange.getResponseBody().write(out);
          }
          exchange.close();
        });
    s.start();
    servers.add(s);
    return "http://127.0.0.1:" + s.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    servers.forEach(s -> s.stop(0));
  }

  private static ApiClient client(String url) {
    return new ApiClient(
        URI.create(url),
        ServerTrust.load(null),
        ApiClient.password("admin", "pw"::toCharArray, () -> "123456"));
  }

  private static Answer active(String key) {
    return switch (key) {
      case "POST /vigil/idp/connect/token" -> new Answer(200, "{\"access_token\":\"tok\"}", null);
      case "GET /vigil/api/v1/servers" -> new Answer(200, "{\"items\":[]}", null);
      default -> new Answer(404, "{\"code\":\"not_found\",\"message\":\"No " + key + "\"}", null);
    };
  }

  @Test
  void aStandbysRedirectIsFollowedToTheActiveNodeBelowItsBasePath() throws IOException {
    String active = node("active", ApiClientFailoverTest::active);
    String standby =
        node("standby", key -> new Answer(307, "", active + key.substring(key.indexOf(' ') + 1)));

    ApiClient api = client(standby + "/vigil");

    assertThat(api.get("/api/v1/servers").path("items").isArray()).isTrue();
    assertThat(seen)
        .containsExactly(
            "standby POST /vigil/idp/connect/token",
            "active POST /vigil/idp/connect/token",
            "active GET /vigil/api/v1/servers");
  }

  @Test
  void aNodeWithoutAnActiveNodeIsRetriedAndItsCodeReportedWhenTheFailoverTimeRunsOut()
      throws IOException {
    String url =
        node(
            "standby",
            key ->
                key.startsWith("POST")
                    ? new Answer(200, "{\"access_token\":\"tok\"}", null)
                    : new Answer(
                        503,
                        "{\"code\":\"no_active_node\",\"message\":\"No node is active.\"}",
                        null));

    assertThatThrownBy(() -> client(url).call("PUT", "/api/v1/settings", Map.of("a", 1)))
        .isInstanceOfSatisfying(
            CliException.class,
            e -> {
              assertThat(e.exitCode()).isEqualTo(ExitCodes.ERROR);
              assertThat(e.line()).isEqualTo("error: No node is active. (no_active_node)");
            });
    assertThat(seen.stream().filter(s -> s.contains("PUT")).count()).isGreaterThan(1);
  }
}
