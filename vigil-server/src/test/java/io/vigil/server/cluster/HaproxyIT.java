package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * HAProxy (the Debian package) in front of three real nodes, health-checking {@code HEAD
 * /cluster/active} every 200 ms, as {@code docs/operations.md} sets it up: a client sends requests
 * through it all along, the owner is killed (SIGKILL), and after the detection window every request
 * succeeds again.
 */
class HaproxyIT extends ClusterIT {

  static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

  /** The longest the client may see failures after the kill. */
  static final Duration WINDOW = Duration.ofSeconds(5);

  record Outcome(long atNanos, long tookNanos, int status, String error) {
    boolean ok() {
      return status == 200;
    }
  }

  @Test
  void requestsThroughHaproxySucceedAgainAfterTheDetectionWindowOfAKillFailover() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(HAPROXY),
        "haproxy is not installed (apt-get install haproxy; .ci/run installs it)");
    try (ClusterFixture cluster = new ClusterFixture(dir).start(3)) {
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      for (NodeProcess node : cluster.nodes()) {
        int expected = node == owner ? 200 : 503;
        for (String method : List.of("HEAD", "OPTIONS")) {
          HttpResponse<String> r = send(node.url() + "/cluster/active", method, null);
          assertThat(r.statusCode()).as(method + " on " + cluster.nameOf(node)).isEqualTo(expected);
          assertThat(r.body()).as(method + " body").isEmpty();
        }
      }
      int port = NodeProcess.freePort();
      Path config = dir.resolve("haproxy.cfg");
      Files.writeString(config, config(port, cluster.nodes()));
      Process check =
          new ProcessBuilder(HAPROXY.toString(), "-c", "-f", config.toString())
              .redirectErrorStream(true)
              .start();
      assertThat(check.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(check.exitValue()).as(new String(check.getInputStream().readAllBytes())).isZero();
      Process haproxy =
          new ProcessBuilder(HAPROXY.toString(), "-db", "-f", config.toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("haproxy.log").toFile())
              .start();
      try {
        String through = "http://127.0.0.1:" + port + "/api/v1/servers";
        awaitThrough(through, token);
        // The standbys' fast path needs a renewal after their lock sessions opened (FailoverIT).
        Thread.sleep(1500);

        List<Outcome> outcomes = new ArrayList<>();
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long killedAt = 0;
        long stopAt = Long.MAX_VALUE;
        for (int i = 0; i < 2000 && System.nanoTime() < end && System.nanoTime() < stopAt; i++) {
          if (killedAt == 0 && i == 20) {
            killedAt = System.nanoTime();
            owner.kill();
            stopAt = killedAt + WINDOW.toNanos() + Duration.ofSeconds(5).toNanos();
          }
          outcomes.add(request(through, token));
          Thread.sleep(50);
        }
        assertThat(killedAt).as("the owner was killed").isPositive();
        long killed = killedAt;
        List<Outcome> failures = outcomes.stream().filter(o -> !o.ok()).toList();
        long lastFailureMs =
            failures.isEmpty()
                ? 0
                : TimeUnit.NANOSECONDS.toMillis(failures.getLast().atNanos() - killed);
        long slowestMs =
            TimeUnit.NANOSECONDS.toMillis(
                outcomes.stream().mapToLong(Outcome::tookNanos).max().orElse(0));
        System.out.printf(
            "%d requests through HAProxy, %d failed (%s), the last %d ms after the kill;"
                + " the slowest took %d ms%n",
            outcomes.size(),
            failures.size(),
            failures.stream().map(o -> o.status() + " " + o.error()).toList(),
            lastFailureMs,
            slowestMs);
        assertThat(outcomes.stream().filter(o -> o.atNanos() < killed).toList())
            .as("requests before the kill")
            .hasSize(20)
            .allMatch(Outcome::ok);
        assertThat(failures)
            .as("failed requests outside the window after the kill")
            .allMatch(o -> o.atNanos() >= killed && o.atNanos() - killed < WINDOW.toNanos());
        assertThat(
                outcomes.stream()
                    .filter(o -> o.atNanos() - killed >= WINDOW.toNanos())
                    .filter(Outcome::ok)
                    .count())
            .as("requests that succeeded after the window")
            .isGreaterThan(20);
      } finally {
        haproxy.destroyForcibly();
        haproxy.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** The configuration of docs/operations.md, on loopback ports and with shorter timeouts. */
  static String config(int port, List<NodeProcess> nodes) {
    StringBuilder servers = new StringBuilder();
    for (int i = 0; i < nodes.size(); i++) {
      String address = URI.create(nodes.get(i).url()).getAuthority();
      servers
          .append("    server node-")
          .append(i + 1)
          .append(' ')
          .append(address)
          .append(" check\n");
    }
    return """
        global
            maxconn 256

        defaults
            mode http
            timeout connect 1s
            timeout client 10s
            timeout server 10s
            retries 2
            option redispatch

        frontend vigil
            bind 127.0.0.1:%d
            default_backend vigil_nodes

        backend vigil_nodes
            option httpchk
            http-check send meth HEAD uri /cluster/active ver HTTP/1.1 hdr Host vigil
            http-check expect status 200
            default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions
        """
            .formatted(port)
        + servers;
  }

  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  static HttpResponse<String> send(String url, String method, String token)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(2))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static Outcome request(String url, String token) throws InterruptedException {
    long at = System.nanoTime();
    try {
      HttpResponse<String> r = send(url, "GET", token);
      return new Outcome(
          at, System.nanoTime() - at, r.statusCode(), r.statusCode() == 200 ? null : r.body());
    } catch (IOException e) {
      return new Outcome(at, System.nanoTime() - at, -1, e.toString());
    }
  }

  /** Waits (at most 30 s) until a request through HAProxy succeeds. */
  static void awaitThrough(String url, String token) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    Outcome last = null;
    while (System.nanoTime() < deadline) {
      last = request(url, token);
      if (last.ok()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no request through HAProxy succeeded within 30 s; last: " + last);
  }
}
