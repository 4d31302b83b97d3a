package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestSse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The live event stream across a kill -9 failover in a real three-node cluster: a client that
 * reconnects to the new owner with its last id gets every acknowledged event once, in order.
 */
class EventStreamFailoverIT extends ClusterIT {

  @Test
  void aStreamResumedOnTheNewOwnerMissesNoAcknowledgedEventAndRepeatsNone() throws Exception {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(3)) {
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      // As in FailoverIT: the fast path needs both standbys up and a renewal since.
      await(
          "both standbys are up",
          Duration.ofSeconds(30),
          () -> {
            int standbys = 0;
            for (var node : status(owner, token).get("nodes")) {
              standbys += "standby".equals(node.get("state").asText()) ? 1 : 0;
            }
            return standbys == 2;
          });
      sleep(1500);

      List<String> acknowledged = new ArrayList<>();
      List<String> received = new ArrayList<>();
      // Only the posted type: the new owner also stores events of its own (cluster.failover).
      TestSse sse =
          TestSse.open(
              owner.url() + "/api/v1/events/stream?kinds=events&type=door.forced", token, null);
      for (int i = 1; i <= 20; i++) {
        acknowledged.add(postUntilAcknowledged(cluster, token, "before-" + i));
      }
      String lastId = null;
      while (received.size() < acknowledged.size()) {
        TestSse.Message m = sse.next();
        received.add(m.data().get("idempotencyKey").asText());
        lastId = m.id();
      }

      owner.kill();
      // The owner is gone with its stream; posts go on against whichever node serves.
      assertThat(sse.ended()).as("the killed owner's stream ended").isTrue();
      for (int i = 1; i <= 20; i++) {
        acknowledged.add(postUntilAcknowledged(cluster, token, "after-" + i));
      }
      NodeProcess next = awaitServing(cluster, token, Duration.ofSeconds(30));
      assertThat(next).isNotSameAs(owner);
      TestSse resumed =
          TestSse.open(
              next.url() + "/api/v1/events/stream?kinds=events&type=door.forced", token, lastId);
      acknowledged.add(postUntilAcknowledged(cluster, token, "last"));
      for (String key = ""; !key.equals("last"); ) {
        key = resumed.next().data().get("idempotencyKey").asText();
        received.add(key);
      }
      resumed.close();

      assertThat(received).containsExactlyElementsOf(acknowledged);
    }
  }

  /**
   * Posts one event with an idempotency key until a node acknowledges it (201): a post whose answer
   * was lost in the failover is sent again and stored once.
   */
  private static String postUntilAcknowledged(ClusterFixture cluster, String token, String key) {
    String body =
        "{\"type\":\"door.forced\",\"source\":\"external:door-1\",\"severity\":\"warning\","
            + "\"idempotencyKey\":\""
            + key
            + "\"}";
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      for (NodeProcess node : cluster.nodes()) {
        if (!node.isAlive()) {
          continue;
        }
        try {
          TestHttp.Response r =
              new TestHttp(node.url(), Duration.ofSeconds(5))
                  .send("POST", "/api/v1/events", token, body, Map.of());
          if (r.status() == 201) {
            return key;
          }
        } catch (RuntimeException e) {
          // not reachable: next
        }
      }
      sleep(50);
    }
    throw new AssertionError("no node acknowledged event " + key + " within 60 s");
  }
}
