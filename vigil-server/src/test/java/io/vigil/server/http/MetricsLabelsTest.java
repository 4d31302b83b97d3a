package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} is open to anyone, so nothing a client chooses (its method, its path) may become
 * a label value: every odd request lands in the same few series.
 */
class MetricsLabelsTest {

  @TempDir Path dataDir;
  private EdgeFixture edge;

  @AfterEach
  void stop() {
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void oddMethodsAndPathsCreateNoNewSeries() throws Exception {
    edge = new EdgeFixture(dataDir, "");
    edge.exchange("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    int before = series().size();

    for (int i = 0; i < 25; i++) {
      edge.exchange(
          "METHOD"
              + (char) ('A' + i)
              + " /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      edge.exchange("GET /no/such/path/" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      edge.exchange(
          "PROPFIND" + i + " /nothing/" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }

    Set<String> methods = new HashSet<>();
    Set<String> routes = new HashSet<>();
    for (Meter m : series()) {
      methods.add(m.getId().getTag("method"));
      routes.add(m.getId().getTag("route"));
    }
    assertThat(methods)
        .isSubsetOf(
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
            "OTHER");
    assertThat(routes).containsOnly("/health/live", "unmatched");
    // The first request's series, plus at most a handful for the odd ones (404 and 405 with
    // OTHER or GET, unmatched): never one per request.
    assertThat(series().size() - before).isLessThanOrEqualTo(6);
  }

  private java.util.Collection<Meter> series() {
    return edge.metrics.find("vigil.http.server.requests").meters();
  }
}
