package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ActiveSamplerTest {

  private final Map<String, HttpServer> servers = new LinkedHashMap<>();

  @AfterEach
  void stopServers() {
    servers.values().forEach(s -> s.stop(0));
  }

  /** A fake node whose /cluster/active answers with the status held in {@code status}. */
  private String node(String name, AtomicInteger status) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
    server.createContext(
        "/cluster/active",
        exchange -> {
          exchange.sendResponseHeaders(status.get(), -1);
          exchange.close();
        });
    server.start();
    servers.put(name, server);
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Test
  @SuppressWarnings("try") // closed early on purpose: sampling stops before the assertions
  void countsEveryNodeThatAnswers200InTheSameRoundAndSeparatesTheUnreachable() throws IOException {
    AtomicInteger first = new AtomicInteger(200);
    AtomicInteger second = new AtomicInteger(503);
    Map<String, String> urls = new LinkedHashMap<>();
    urls.put("node-1", node("node-1", first));
    urls.put("node-2", node("node-2", second));
    urls.put("node-3", "http://127.0.0.1:" + NodeProcess.freePort());

    try (ActiveSampler sampler = new ActiveSampler(urls)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> sampler.rounds().size() >= 5);
      assertThat(sampler.maxSimultaneousActive()).isEqualTo(1);
      assertThat(sampler.roundsWithSeveralActive()).isEmpty();
      assertThat(sampler.rounds())
          .allSatisfy(
              r -> {
                assertThat(r.active()).containsExactly("node-1");
                assertThat(r.unreachable()).containsExactly("node-3");
              });

      second.set(200);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> !sampler.roundsWithSeveralActive().isEmpty());
      first.set(503);
      int before = sampler.rounds().size();
      await().atMost(Duration.ofSeconds(10)).until(() -> sampler.rounds().size() >= before + 3);
      sampler.close();

      assertThat(sampler.maxSimultaneousActive()).isEqualTo(2);
      assertThat(sampler.roundsWithSeveralActive())
          .allSatisfy(r -> assertThat(r.active()).isEqualTo(Set.of("node-1", "node-2")));
      assertThat(sampler.rounds().getLast().active()).containsExactly("node-2");
      int closed = sampler.rounds().size();
      await().during(Duration.ofMillis(200)).until(() -> sampler.rounds().size() == closed);
    }
  }

  @Test
  void samplesAboutEveryTwentyMilliseconds() throws IOException {
    try (ActiveSampler sampler =
        new ActiveSampler(Map.of("node-1", node("node-1", new AtomicInteger(503))))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> sampler.rounds().size() >= 20);
      var rounds = sampler.rounds();
      Duration span = Duration.between(rounds.getFirst().at(), rounds.get(19).at());

      // 19 intervals of 20 ms; generous upper bound for a loaded machine.
      assertThat(span).isBetween(Duration.ofMillis(19 * 20 - 5), Duration.ofSeconds(5));
      assertThat(sampler.maxSimultaneousActive()).isZero();
    }
  }
}
