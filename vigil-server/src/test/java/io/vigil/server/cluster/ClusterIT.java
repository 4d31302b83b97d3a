package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.testing.ActiveSampler;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.io.TempDir;

/** Shared helpers of the cluster's integration tests: real node processes on real PostgreSQL. */
abstract class ClusterIT {

  @TempDir Path dir;

  static String token(NodeProcess node) {
    TestHttp.Response r =
        new TestHttp(node.url())
            .form(
                "/idp/connect/token",
                "grant_type=password&client_id=vigil-cli&username=admin&password="
                    + URLEncoder.encode(ClusterFixture.ADMIN_PASSWORD, StandardCharsets.UTF_8)
                    + "&scope="
                    + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8),
                Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("access_token").asText();
  }

  /** A GET that gives up after a second: the node may be stopped. */
  static TestHttp.Response get(NodeProcess node, String path, String token) {
    return new TestHttp(node.url(), Duration.ofSeconds(1)).get(path, token);
  }

  static TestHttp.Response send(
      NodeProcess node, String method, String path, String token, String body) {
    return new TestHttp(node.url()).send(method, path, token, body, Map.of());
  }

  static JsonNode status(NodeProcess node, String token) {
    TestHttp.Response r = get(node, "/api/v1/cluster", token);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  static String history(NodeProcess node, String token) {
    return get(node, "/api/v1/cluster/history?limit=500", token).body();
  }

  /** The names of every server registered, page after page, duplicates included. */
  static List<String> storedServerNames(NodeProcess node, String token) {
    List<String> stored = new ArrayList<>();
    String cursor = null;
    do {
      JsonNode page =
          new TestHttp(node.url(), Duration.ofSeconds(10))
              .get("/api/v1/servers?limit=500" + (cursor == null ? "" : "&cursor=" + cursor), token)
              .json();
      page.get("items").forEach(s -> stored.add(s.get("name").asText()));
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
    } while (cursor != null);
    return stored;
  }

  /** Waits until a node serves authenticated API reads, returns it and the time it took. */
  static NodeProcess awaitServing(ClusterFixture cluster, String token, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (NodeProcess node : cluster.nodes()) {
        if (!node.isAlive()) {
          continue;
        }
        try {
          TestHttp.Response r = get(node, "/api/v1/servers", token);
          if (r.status() == 200) {
            return node;
          }
        } catch (RuntimeException e) {
          // not reachable: next
        }
      }
      sleep(20);
    }
    throw new AssertionError("no node served the API within " + timeout);
  }

  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting until " + what);
      }
      sleep(20);
    }
  }

  static void assertNeverTwoActive(ActiveSampler sampler) {
    assertThat(sampler.roundsWithSeveralActive())
        .as("rounds in which two nodes answered /cluster/active with 200")
        .isEmpty();
    assertThat(sampler.rounds()).isNotEmpty();
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
