package io.vigil.server.http;

import static io.vigil.server.http.EdgeFixture.body;
import static io.vigil.server.http.EdgeFixture.header;
import static io.vigil.server.http.EdgeFixture.status;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests that Jetty refuses before any route sees them are answered like every other error: a
 * JSON body with a stable code, no HTML, no stack trace and no server name or version.
 */
class ProtocolErrorTest {

  @TempDir Path dataDir;
  private EdgeFixture edge;

  private ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs;

  @BeforeEach
  void start() throws Exception {
    logs = new ch.qos.logback.core.read.ListAppender<>();
    logs.start();
    ((ch.qos.logback.classic.Logger)
            org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .addAppender(logs);
    edge = new EdgeFixture(dataDir, "\"MaxRequestBytes\": 4096, \"MaxRequestHeaderBytes\": 4096");
  }

  @AfterEach
  void stop() {
    ((ch.qos.logback.classic.Logger)
            org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .detachAppender(logs);
    edge.close();
  }

  @Test
  void aBadRequestLineIsAJson400() throws Exception {
    String r = edge.exchange("THIS IS NOT HTTP\r\n\r\n");

    assertJsonError(r, 400, "bad_request");
  }

  @Test
  void aBadHeaderIsAJson400() throws Exception {
    String r = edge.exchange("GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");

    assertJsonError(r, 400, "bad_request");
  }

  @Test
  void aTooLongUriIsAJson414() throws Exception {
    String r =
        edge.exchange(
            "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    assertJsonError(r, 414, "uri_too_long");
  }

  @Test
  void tooLargeHeadersAreAJson431() throws Exception {
    String r =
        edge.exchange(
            "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: "
                + "b".repeat(6_000)
                + "\r\nConnection: close\r\n\r\n");

    assertJsonError(r, 431, "headers_too_large");
  }

  @Test
  void aDeclaredBodyOverTheLimitIsAJson413() throws Exception {
    String r =
        edge.exchange(
            "POST /api/v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + EdgeFixture.TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");

    assertJsonError(r, 413, "payload_too_large");
  }

  @Test
  void aChunkedBodyOverTheLimitIsAJson413() throws Exception {
    StringBuilder request =
        new StringBuilder(
            "POST /api/v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + EdgeFixture.TOKEN
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++) {
      request.append("400\r\n").append("x".repeat(1024)).append("\r\n");
    }
    request.append("0\r\n\r\n");

    String r = edge.exchange(request.toString());

    assertJsonError(r, 413, "payload_too_large");
  }

  @Test
  void aBadChunkSizeIsAJson400AndLogsNoError() throws Exception {
    String r =
        edge.exchange(
            "POST /api/v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + EdgeFixture.TOKEN
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\n{\"a\":\r\nZZZ\r\n1\r\n}\r\n0\r\n\r\n");

    assertJsonError(r, 400, "bad_request");
    assertNoErrorLogged();
  }

  @Test
  void aClientThatClosesMidBodyLogsNoError() throws Exception {
    try (java.net.Socket s = edge.connect()) {
      s.getOutputStream()
          .write(
              ("POST /api/v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + EdgeFixture.TOKEN
                      + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                      + "{\"a\":")
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
    }
    // The server learns of the close at its next read; give it a moment, then ask it something.
    Thread.sleep(300);
    assertThat(
            status(
                edge.exchange("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")))
        .isEqualTo(200);
    assertNoErrorLogged();
  }

  private void assertNoErrorLogged() {
    assertThat(logs.list)
        .filteredOn(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR))
        .extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
        .isEmpty();
  }

  @Test
  void anUnsupportedHttpVersionIsAJsonError() throws Exception {
    String r = edge.exchange("GET /health/live HTTP/7.0\r\nHost: x\r\n\r\n");

    assertThat(status(r)).isBetween(400, 505);
    assertThat(header(r, "Content-Type")).startsWith("application/json");
    assertNothingLeaks(r);
  }

  private static void assertJsonError(String response, int status, String code) {
    assertThat(status(response)).as(response).isEqualTo(status);
    assertThat(header(response, "Content-Type")).as(response).startsWith("application/json");
    assertThat(body(response)).as(response).contains("\"code\":\"" + code + "\"");
    assertThat(body(response)).contains("\"message\":\"");
    assertNothingLeaks(response);
  }

  private static void assertNothingLeaks(String response) {
    assertThat(response.toLowerCase())
        .doesNotContain("<html")
        .doesNotContain("jetty")
        .doesNotContain("exception")
        .doesNotContain("\tat ");
    assertThat(header(response, "Server")).isNull();
  }
}
