package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster fixture itself: real node processes on a shared PostgreSQL database. Who becomes
 * active is the failover controller's business and is tested with it.
 */
class ClusterFixtureIT {

  @TempDir Path dir;

  @Test
  void startsNamedReadyNodesOnOneDatabaseAndTheSamplerSeesEachOfThem() {
    List<NodeProcess> nodes;
    try (ClusterFixture cluster = new ClusterFixture(dir).start(2)) {
      assertThat(cluster.nodes()).hasSize(2).allSatisfy(n -> assertThat(n.isAlive()).isTrue());
      assertThat(cluster.node(1).url()).isNotEqualTo(cluster.node(2).url());
      assertThat(cluster.nameOf(cluster.node(2))).isEqualTo("node-2");
      assertThat(cluster.databaseUrl()).startsWith("jdbc:postgresql:");
      assertThat(cluster.node(1).logText()).contains("node-1");
      assertThat(cluster.node(2).logText()).contains("node-2");
      assertThat(dir.resolve("machine.key")).exists();
      assertThat(dir.resolve("node-1-machine.key")).doesNotExist();
      assertThatThrownBy(() -> cluster.node(3)).hasMessageContaining("node-1 to node-2");

      ActiveSampler sampler = cluster.sampler();
      await().atMost(Duration.ofSeconds(10)).until(() -> sampler.rounds().size() >= 10);
      assertThat(sampler.rounds().getLast().unreachable()).isEmpty();

      // A killed node shows as unreachable and restarts at the same address.
      cluster.node(2).kill();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> sampler.rounds().getLast().unreachable().contains("node-2"));
      assertThat(sampler.rounds().getLast().unreachable()).containsExactly("node-2");
      String url = cluster.node(2).url();
      cluster.node(2).start().awaitReady(Duration.ofSeconds(120));
      assertThat(cluster.node(2).url()).isEqualTo(url);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> sampler.rounds().getLast().unreachable().isEmpty());
      nodes = cluster.nodes();
    }
    // close() kills every node.
    assertThat(nodes).allSatisfy(n -> assertThat(n.isAlive()).isFalse());
  }
}
