package io.vigil.server.http;

import static io.vigil.server.http.EdgeFixture.header;
import static io.vigil.server.http.EdgeFixture.status;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every response carries the browser-hardening headers, whoever wrote it: a route, an error mapper
 * or Jetty itself; none names the server software.
 */
class SecurityHeadersTest {

  @TempDir Path dataDir;
  private EdgeFixture edge;

  @BeforeEach
  void start() throws Exception {
    edge = new EdgeFixture(dataDir, "");
  }

  @AfterEach
  void stop() {
    edge.close();
  }

  @Test
  void healthAndMetricsCarryThem() throws Exception {
    assertHardened(get("/health/live", null), 200);
    assertHardened(get("/health/ready", null), 200);
    assertHardened(get("/metrics", null), 200);
  }

  @Test
  void apiAnswersAndApiErrorsCarryThem() throws Exception {
    // A JSON answer to a GET under /api/v1 may be kept by its caller to revalidate
    // (ConditionalGet).
    String answer = get("/api/v1/things", EdgeFixture.TOKEN);
    assertHardened(answer, 200, "private, no-cache");
    assertHardened(get("/api/v1/things", null), 401);
    assertHardened(get("/api/v1/things", "wrong"), 401);
    assertHardened(get("/no/such/path", null), 404);
    assertHardened(get("/boom", null), 500);
    assertHardened(
        edge.exchange("DELETE /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), -1);
  }

  @Test
  void jettysOwnErrorsCarryThem() throws Exception {
    assertHardened(edge.exchange("NOT HTTP AT ALL\r\n\r\n"), 400);
    assertHardened(
        edge.exchange(
            "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: "
                + "b".repeat(20_000)
                + "\r\nConnection: close\r\n\r\n"),
        431);
  }

  private String get(String path, String token) throws Exception {
    return edge.exchange(
        "GET "
            + path
            + " HTTP/1.1\r\nHost: x\r\n"
            + (token == null ? "" : "Authorization: Bearer " + token + "\r\n")
            + "Connection: close\r\n\r\n");
  }

  private static void assertHardened(String response, int status) {
    assertHardened(response, status, "no-store");
  }

  private static void assertHardened(String response, int status, String cacheControl) {
    if (status > 0) {
      assertThat(status(response)).as(response).isEqualTo(status);
    }
    assertThat(header(response, "X-Content-Type-Options")).as(response).isEqualTo("nosniff");
    assertThat(header(response, "Referrer-Policy")).as(response).isEqualTo("no-referrer");
    assertThat(header(response, "X-Frame-Options")).as(response).isEqualTo("DENY");
    assertThat(header(response, "Content-Security-Policy"))
        .as(response)
        .contains("frame-ancestors 'none'");
    assertThat(header(response, "Cache-Control")).as(response).isEqualTo(cacheControl);
    assertThat(header(response, "Server")).as(response).isNull();
    // Plain HTTP: HSTS only on HTTPS (HttpsServerTest).
    assertThat(header(response, "Strict-Transport-Security")).as(response).isNull();
  }
}
