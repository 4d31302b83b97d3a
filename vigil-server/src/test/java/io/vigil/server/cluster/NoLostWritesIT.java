package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.ActiveSampler;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** A client writes numbered objects through repeated failovers; no acknowledged write is lost. */
class NoLostWritesIT extends ClusterIT {

  @Test
  void everyAcknowledgedWriteSurvivesRepeatedFailoversAndNoneIsStoredTwice() throws Exception {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(3)) {
      ActiveSampler sampler = cluster.sampler();
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));

      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      AtomicBoolean writing = new AtomicBoolean(true);
      Thread writer =
          Thread.ofPlatform()
              .start(
                  () -> {
                    int n = 0;
                    while (writing.get()) {
                      String name = String.format("obj-%05d", n++);
                      for (NodeProcess node : cluster.nodes()) {
                        if (!node.isAlive()) {
                          continue;
                        }
                        try {
                          TestHttp.Response r =
                              new TestHttp(node.url(), Duration.ofSeconds(2))
                                  .send(
                                      "POST",
                                      "/api/v1/servers",
                                      token,
                                      "{\"name\":\""
                                          + name
                                          + "\",\"type\":\"recording-server\",\"address\":\"http://rec.local\"}",
                                      Map.of());
                          if (r.status() == 201) {
                            acknowledged.add(name);
                            break;
                          }
                          if (r.status() != 307 && r.status() != 503) {
                            break;
                          }
                        } catch (RuntimeException e) {
                          // node unreachable: try the next
                        }
                      }
                    }
                  });

      for (int round = 0; round < 3; round++) {
        sleep(1500);
        NodeProcess active = cluster.awaitActive(Duration.ofSeconds(20));
        int before = acknowledged.size();
        active.kill();
        awaitServing(cluster, token, Duration.ofSeconds(20));
        active.start().awaitReady(Duration.ofSeconds(60));
        assertThat(acknowledged.size()).isGreaterThan(before);
      }
      sleep(1500);
      writing.set(false);
      writer.join(10_000);

      NodeProcess serving = awaitServing(cluster, token, Duration.ofSeconds(20));
      List<String> stored = storedServerNames(serving, token);

      assertThat(acknowledged).hasSizeGreaterThan(20);
      assertThat(new HashSet<>(stored))
          .as("every acknowledged write is stored")
          .containsAll(acknowledged);
      assertThat(stored).as("no write is stored twice").doesNotHaveDuplicates();
      sampler.close();
      assertNeverTwoActive(sampler);
    }
  }
}
