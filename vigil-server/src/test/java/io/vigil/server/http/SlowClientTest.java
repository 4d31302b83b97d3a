package io.vigil.server.http;

import static io.vigil.server.http.EdgeFixture.body;
import static io.vigil.server.http.EdgeFixture.send;
import static io.vigil.server.http.EdgeFixture.status;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that send a request body slowly (slowloris) hold no request thread: the body is read
 * without one, and one that has not arrived within {@code Http.RequestBodyTimeoutSeconds} is
 * answered 408 and its connection closed. Timings are measured with generous bounds.
 */
class SlowClientTest {

  private static final String HEADERS =
      "POST /api/v1/things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + EdgeFixture.TOKEN
          + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

  @TempDir Path dataDir;
  private EdgeFixture edge;
  private final List<Socket> sockets = new ArrayList<>();

  @AfterEach
  void stop() {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void aBodyThatDoesNotArriveInTimeIsAnswered408AndTheConnectionClosed() throws Exception {
    edge = new EdgeFixture(dataDir, "\"RequestBodyTimeoutSeconds\": 2");
    try (Socket s = edge.connect()) {
      long start = System.nanoTime();
      send(s.getOutputStream(), HEADERS + "{");

      String r = EdgeFixture.readResponse(s);
      Duration took = Duration.ofNanos(System.nanoTime() - start);

      assertThat(status(r)).as(r).isEqualTo(408);
      assertThat(body(r)).contains("\"code\":\"request_timeout\"");
      assertThat(EdgeFixture.header(r, "Connection")).isEqualToIgnoringCase("close");
      assertThat(s.getInputStream().read()).as("the connection is closed").isEqualTo(-1);
      assertThat(took).isBetween(Duration.ofMillis(1_500), Duration.ofSeconds(10));
    }
  }

  @Test
  void aBodyThatArrivesInPiecesWithinTheDeadlineIsHandled() throws Exception {
    edge = new EdgeFixture(dataDir, "\"RequestBodyTimeoutSeconds\": 10");
    try (Socket s = edge.connect()) {
      send(
          s.getOutputStream(),
          HEADERS.replace("Content-Length: 1000", "Content-Length: 11") + "{\"a\":");
      Thread.sleep(300);
      send(s.getOutputStream(), "\"bcd\"}");

      String r = EdgeFixture.readResponse(s);

      assertThat(status(r)).as(r).isEqualTo(200);
      assertThat(body(r)).contains("\"received\":11");
    }
  }

  @Test
  void aHundredSlowClientsHoldNoThreadsAndTheServerKeepsAnswering() throws Exception {
    edge =
        new EdgeFixture(
            dataDir, "\"RequestBodyTimeoutSeconds\": 60, \"MaxConnectionsPerAddress\": 500");
    TestClient client = new TestClient(edge.port());
    client.get("/health/live", null);
    int threadsBefore = serverThreads();

    for (int i = 0; i < 100; i++) {
      Socket s = edge.connect();
      sockets.add(s);
      send(s.getOutputStream(), HEADERS + "{");
      Thread.sleep(5);
    }
    // Trickle one more byte on each, twice, while asking the server for other things.
    for (int round = 0; round < 2; round++) {
      for (Socket s : sockets) {
        send(s.getOutputStream(), " ");
      }
      long start = System.nanoTime();
      assertThat(client.get("/health/live", null)).isEqualTo(200);
      assertThat(client.get("/api/v1/things", EdgeFixture.TOKEN)).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("health and an authenticated GET answer while 100 clients trickle")
          .isLessThan(Duration.ofSeconds(5));
      Thread.sleep(500);
    }

    int threadsDuring = serverThreads();
    assertThat(threadsDuring - threadsBefore)
        .as(
            "server threads added by 100 slow clients (before %d, during %d)",
            threadsBefore, threadsDuring)
        .isLessThan(30);
  }

  @Test
  void connectionsBeyondThePerAddressLimitAreClosedAtOnceAndTheNodeStillChecksLive()
      throws Exception {
    edge = new EdgeFixture(dataDir, "\"MaxConnectionsPerAddress\": 3");
    for (int i = 0; i < 3; i++) {
      Socket s = edge.connect();
      sockets.add(s);
      send(s.getOutputStream(), HEADERS + "{");
    }
    Thread.sleep(200);

    try (Socket extra = edge.connect()) {
      long start = System.nanoTime();
      int read;
      try {
        send(extra.getOutputStream(), "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
        read = extra.getInputStream().read();
      } catch (IOException e) {
        read = -1;
      }
      assertThat(read).as("the fourth connection is closed without an answer").isEqualTo(-1);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    }
    // The client-access-point check does not need a connection of its own.
    assertThat(edge.server.checkLive()).isNull();

    sockets.remove(0).close();
    Thread.sleep(200);
    assertThat(new TestClient(edge.port()).get("/health/live", null)).isEqualTo(200);
  }

  /** The HTTP server's pool threads in this JVM. */
  private static int serverThreads() {
    return (int)
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("JettyServerThreadPool"))
            .count();
  }

  /** Plain GETs over java.net.http, each with a timeout, returning the status. */
  private record TestClient(int port) {
    int get(String path, String token) throws Exception {
      try (var http = java.net.http.HttpClient.newHttpClient()) {
        var b =
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
          b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.discarding())
            .statusCode();
      }
    }
  }
}
