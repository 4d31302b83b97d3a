package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.protect.MachineProtector;
import io.vigil.server.testing.TestHttp;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The database fails over under a running cluster: two Vigil nodes on two machines use a PostgreSQL
 * primary and its synchronous streaming-replication standby on two more, through one URL listing
 * both ({@code targetServerType=primary}). The primary crashes, the standby is promoted, and the
 * cluster goes on with one owner and every acknowledged write.
 */
class LabDatabaseFailoverIT {

  @RegisterExtension static final LabExtension lab = new LabExtension().withPostgres();

  @Test
  void thePromotedSynchronousStandbyServesTheClusterWithOneOwnerAndNoAcknowledgedWriteLost()
      throws Exception {
    LabPostgres primary = LabPostgres.startPrimary(lab.get().host("db1"));
    LabPostgres standby = LabPostgres.startStandby(lab.get().host("db2"), primary);
    Host client = lab.get().host("client");
    Path sharedKey = lab.get().dir().resolve("shared-machine.key");
    MachineProtector.open(sharedKey);
    List<LabNode> nodes = new ArrayList<>();
    for (String name : List.of("node-a", "node-b")) {
      LabNode node =
          new LabNode(lab.get().host(name), primary, LabFailoverIT.ADMIN_PASSWORD)
              .installMachineKey(sharedKey);
      LabPostgres.nodeEnv(List.of(primary, standby)).forEach(node::env);
      nodes.add(node);
    }
    nodes.forEach(LabNode::start);
    for (LabNode node : nodes) {
      node.awaitReady(client, Duration.ofSeconds(90));
    }
    LabHttp http = new LabHttp(client, Duration.ofSeconds(2));
    LabNode owner = LabFailoverIT.awaitOneActive(http, nodes, Duration.ofSeconds(30));
    String token = LabFailoverIT.awaitToken(http, owner, Duration.ofSeconds(30));

    // Every round asks both nodes; two 200s in one round would be two owners.
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger rounds = new AtomicInteger();
    List<String> twoActive = new ArrayList<>();
    Thread sampler =
        Thread.ofPlatform()
            .start(
                () -> {
                  LabHttp probe = new LabHttp(client, Duration.ofMillis(500));
                  while (running.get()) {
                    List<String> active = new ArrayList<>();
                    for (LabNode node : nodes) {
                      if (probe.status(node.url() + "/cluster/active") == 200) {
                        active.add(node.name());
                      }
                    }
                    rounds.incrementAndGet();
                    if (active.size() > 1) {
                      synchronized (twoActive) {
                        twoActive.add(String.join(",", active));
                      }
                    }
                    Commands.sleep(20);
                  }
                });
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    Thread writer =
        Thread.ofPlatform()
            .start(
                () -> {
                  LabHttp w = new LabHttp(client, Duration.ofSeconds(3));
                  int n = 0;
                  while (running.get()) {
                    String name = String.format("obj-%05d", n++);
                    for (LabNode node : nodes) {
                      try {
                        TestHttp.Response r =
                            w.json(
                                "POST",
                                node.url() + "/api/v1/servers",
                                token,
                                "{\"name\":\""
                                    + name
                                    + "\",\"type\":\"recording-server\",\"address\":\"http://rec.local\"}");
                        if (r.status() == 201) {
                          acknowledged.add(name);
                          break;
                        }
                      } catch (UncheckedIOException e) {
                        // not reachable: the next node
                      }
                    }
                  }
                });
    try {
      Commands.sleep(2000);
      int before = acknowledged.size();
      assertThat(before).as("writes acknowledged before the database failover").isPositive();

      long t0 = System.nanoTime();
      primary.kill9();
      // An operator (or a replication manager) promotes the standby a few seconds later.
      Commands.sleep(3000);
      standby.promote();
      LabNode after = LabFailoverIT.awaitOneActive(http, nodes, Duration.ofSeconds(60));
      TestHttp.Response served =
          LabFailoverIT.awaitApi(
              http, after.url() + "/api/v1/servers?limit=1", token, Duration.ofSeconds(60));
      assertThat(served.status()).as(served.body()).isEqualTo(200);
      System.out.printf(
          "%s serves the API %d ms after the database primary crashed (promoted after 3,000 ms)%n",
          after, (System.nanoTime() - t0) / 1_000_000);
      int atRecovery = acknowledged.size();
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (acknowledged.size() < atRecovery + 20 && System.nanoTime() < deadline) {
        Commands.sleep(100);
      }
      assertThat(acknowledged.size())
          .as("writes acknowledged after the database failover")
          .isGreaterThan(atRecovery);
    } finally {
      running.set(false);
      writer.join(15_000);
      sampler.join(15_000);
    }

    LabNode serving = LabFailoverIT.awaitOneActive(http, nodes, Duration.ofSeconds(30));
    List<String> stored = new ArrayList<>();
    String cursor = null;
    do {
      JsonNode page =
          http.get(
                  serving.url()
                      + "/api/v1/servers?limit=500"
                      + (cursor == null ? "" : "&cursor=" + cursor),
                  token)
              .json();
      page.get("items").forEach(s -> stored.add(s.get("name").asText()));
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
    } while (cursor != null);
    System.out.printf(
        "%d writes acknowledged, %d stored, %d sampling rounds%n",
        acknowledged.size(), stored.size(), rounds.get());
    assertThat(new HashSet<>(stored))
        .as("every acknowledged write is stored")
        .containsAll(acknowledged);
    assertThat(stored).as("no write is stored twice").doesNotHaveDuplicates();
    assertThat(twoActive).as("rounds in which two nodes answered 200").isEmpty();
    assertThat(rounds.get()).isGreaterThan(50);
    // The standby never took writes before it was promoted: the URL asked for the primary.
    assertThat(standby.query("vigil", "SELECT pg_is_in_recovery()").strip()).isEqualTo("f");
  }
}
