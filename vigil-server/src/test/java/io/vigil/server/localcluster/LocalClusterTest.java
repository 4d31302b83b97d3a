package io.vigil.server.localcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The pure part of a local cluster: its plan, the nodes' environment, the state file, policy. */
class LocalClusterTest {

  private final Path dir = Path.of("/srv/cluster");

  @Test
  void nodesAreNamedInOrderWithAFolderAndLogEachAndOneMachineKey() {
    LocalCluster.Plan plan = LocalCluster.plan(dir, List.of(9100, 9101, 9102));

    assertThat(plan.nodes())
        .extracting(LocalCluster.NodePlan::name)
        .containsExactly("node-1", "node-2", "node-3");
    assertThat(plan.nodes())
        .extracting(LocalCluster.NodePlan::port)
        .containsExactly(9100, 9101, 9102);
    LocalCluster.NodePlan second = plan.nodes().get(1);
    assertThat(second.url()).isEqualTo("http://127.0.0.1:9101");
    assertThat(second.dataDir()).isEqualTo(dir.resolve("node-2"));
    assertThat(second.log()).isEqualTo(dir.resolve("node-2").resolve("node-2.log"));
    assertThat(plan.machineKeyFile()).isEqualTo(dir.resolve("machine.key"));
    assertThat(plan.stateFile()).isEqualTo(dir.resolve("nodes.tsv"));
  }

  @Test
  void aRelativeFolderIsMadeAbsolute() {
    LocalCluster.Plan plan = LocalCluster.plan(Path.of("a", "..", "b"), List.of(9100));

    assertThat(plan.dir()).isAbsolute().isEqualTo(Path.of("b").toAbsolutePath());
  }

  @Test
  void aPlanNeedsANodeAndItsOwnValidPortForEach() {
    assertThatThrownBy(() -> LocalCluster.plan(dir, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LocalCluster.plan(dir, List.of(9100, 9100)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("its own port");
    assertThatThrownBy(() -> LocalCluster.plan(dir, List.of(0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LocalCluster.plan(dir, List.of(65536)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void consecutivePortsMustFitBelow65536() {
    assertThat(LocalCluster.consecutivePorts(65534, 2)).containsExactly(65534, 65535);
    assertThat(LocalCluster.consecutivePorts(1, 1)).containsExactly(1);
    assertThatThrownBy(() -> LocalCluster.consecutivePorts(65534, 3))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LocalCluster.consecutivePorts(0, 2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void freePortsAreDistinct() {
    assertThat(LocalCluster.freePorts(5))
        .hasSize(5)
        .doesNotHaveDuplicates()
        .allSatisfy(p -> assertThat(p).isBetween(1, 65535));
  }

  @Test
  void everyNodeGetsItsOwnNamePortAndFolderAndSharesTheRest() {
    LocalCluster.Plan plan = LocalCluster.plan(dir, List.of(9100, 9101));
    LocalCluster.Database db =
        new LocalCluster.Database("jdbc:postgresql://127.0.0.1:5555/vigil", "postgres", null);
    Map<String, String> base =
        Map.of(
            "PATH", "/usr/bin",
            "VIGIL_ADVERTISED_URL", "http://one-for-all:1",
            "VIGIL_DB_PASSWORD", "stale",
            "VIGIL_TLS_THUMBPRINT", "0123456789ABCDEF0123456789ABCDEF01234567",
            "VIGIL_HTTP_PORT", "1");

    Map<String, String> one = LocalCluster.nodeEnv(base, plan, plan.nodes().get(0), db, "pw");
    Map<String, String> two = LocalCluster.nodeEnv(base, plan, plan.nodes().get(1), db, "pw");

    assertThat(one)
        .containsEntry("PATH", "/usr/bin")
        .containsEntry("VIGIL_NODE_NAME", "node-1")
        .containsEntry("VIGIL_HTTP_PORT", "9100")
        .containsEntry("VIGIL_HTTP_HOST", "127.0.0.1")
        .containsEntry("VIGIL_DATA_DIR", dir.resolve("node-1").toString())
        .containsEntry("VIGIL_DB_URL", "jdbc:postgresql://127.0.0.1:5555/vigil")
        .containsEntry("VIGIL_DB_USER", "postgres")
        .containsEntry("VIGIL_ADMIN_PASSWORD", "pw")
        .containsEntry("VIGIL_MACHINE_KEY_FILE", dir.resolve("machine.key").toString())
        .containsEntry("VIGIL_HTTP_ALLOW_PLAIN", "true")
        .doesNotContainKeys("VIGIL_ADVERTISED_URL", "VIGIL_DB_PASSWORD", "VIGIL_TLS_THUMBPRINT");
    assertThat(two)
        .containsEntry("VIGIL_NODE_NAME", "node-2")
        .containsEntry("VIGIL_HTTP_PORT", "9101")
        .containsEntry("VIGIL_DATA_DIR", dir.resolve("node-2").toString())
        .containsEntry("VIGIL_MACHINE_KEY_FILE", one.get("VIGIL_MACHINE_KEY_FILE"))
        .containsEntry("VIGIL_ADMIN_PASSWORD", "pw");

    assertThat(LocalCluster.nodeEnv(base, plan, plan.nodes().get(0), db, null))
        .doesNotContainKey("VIGIL_ADMIN_PASSWORD");
  }

  @Test
  void theStateFileHasNameUrlAndPidPerNodeWithADashForANodeThatIsDown() {
    LocalCluster.Plan plan = LocalCluster.plan(dir, List.of(9100, 9101));

    String tsv =
        LocalCluster.stateTsv(plan.nodes(), List.of(OptionalLong.of(4242), OptionalLong.empty()));

    assertThat(tsv)
        .isEqualTo("node-1\thttp://127.0.0.1:9100\t4242\nnode-2\thttp://127.0.0.1:9101\t-\n");
  }

  @Test
  void onlyAnExitThatIsNotAStopIsAFailureToRestart() {
    // 0, or the end by SIGHUP, SIGINT, SIGPIPE, SIGTERM (128 + 1, 2, 13, 15): a stop.
    assertThat(List.of(0, 129, 130, 141, 143)).noneMatch(LocalCluster::isFailure);
    // SIGKILL (137), SIGSEGV (139), a start-up failure (1), an abort (134).
    assertThat(List.of(1, 2, 134, 137, 139)).allMatch(LocalCluster::isFailure);
  }

  @Test
  void aLogTailShowsOnlyTheLatestStartsLines() {
    String log =
        LocalNode.START_MARKER
            + "node-1 at 1\nold line\n"
            + LocalNode.START_MARKER
            + "node-1 at 2\nfirst\nsecond\nthird\n";

    assertThat(LocalNode.tail(log, 10)).isEqualTo("first\nsecond\nthird");
    assertThat(LocalNode.tail(log, 2)).isEqualTo("second\nthird");
    assertThat(LocalNode.tail("no marker\nat all", 5)).isEqualTo("no marker\nat all");
  }
}
