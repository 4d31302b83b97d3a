package io.vigil.server.localcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local cluster's processes, watched and stopped: {@code sleep} in place of each node, and a
 * small HTTP server on a node's port where a test needs it to answer.
 */
@DisabledOnOs(OS.WINDOWS)
class LocalClusterProcessTest {

  @TempDir Path dir;
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
  private LocalCluster cluster;

  @AfterEach
  void stopEverything() {
    if (cluster != null) {
      cluster.stop(Duration.ZERO);
    }
    servers.forEach(s -> s.stop(0));
  }

  private LocalCluster sleepers(int n) {
    LocalCluster.Plan plan = LocalCluster.plan(dir, LocalCluster.freePorts(n));
    cluster =
        new LocalCluster(
            plan,
            List.of("sleep", "600"),
            node -> Map.of("PATH", System.getenv("PATH")),
            new LocalCluster.Listener() {
              @Override
              public void exited(
                  LocalNode node, long pid, int exitCode, Optional<Duration> restartIn) {
                events.add(
                    "exited "
                        + node.name()
                        + " "
                        + exitCode
                        + restartIn.map(d -> " restart in " + d.toMillis() + " ms").orElse(""));
              }

              @Override
              public void restarted(LocalNode node) {
                events.add("restarted " + node.name());
              }

              @Override
              public void stopping(List<LocalNode> running) {
                events.add("stopping " + running.size());
              }
            });
    return cluster;
  }

  private void answer(LocalNode node, int activeStatus) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(LocalNode.HOST, node.port()), 0);
    server.createContext(
        "/cluster/active",
        exchange -> {
          exchange.sendResponseHeaders(activeStatus, -1);
          exchange.close();
        });
    server.start();
    servers.add(server);
  }

  @Test
  void aFailedNodeIsStartedAgainAfterTheDelayAndAStoppedOneStaysDown() {
    LocalCluster c = sleepers(2);
    c.startAll();
    long firstPid = c.node(1).pid();
    c.supervise(Duration.ofMillis(100));

    c.node(1).signal(LocalNode.Signal.KILL);
    await().atMost(Duration.ofSeconds(10)).until(() -> events.contains("restarted node-1"));
    c.node(2).signal(LocalNode.Signal.TERM);
    await().atMost(Duration.ofSeconds(10)).until(() -> events.contains("exited node-2 143"));

    assertThat(events).startsWith("exited node-1 137 restart in 100 ms", "restarted node-1");
    assertThat(c.node(1).isAlive()).isTrue();
    assertThat(c.node(1).pid()).isNotEqualTo(firstPid);
    assertThat(c.node(2).isAlive()).isFalse();
    // The restarted node is watched as well.
    c.node(1).signal(LocalNode.Signal.KILL);
    await().atMost(Duration.ofSeconds(10)).until(() -> events.size() >= 5);
    assertThat(events.subList(3, 5))
        .containsExactly("exited node-1 137 restart in 100 ms", "restarted node-1");
  }

  @Test
  void withoutARestartDelayAnExitIsReportedAndTheNodeStaysDown() {
    LocalCluster c = sleepers(2);
    c.startAll();
    c.supervise(null);

    c.node(2).kill();

    await().atMost(Duration.ofSeconds(10)).until(() -> events.contains("exited node-2 137"));
    assertThat(c.node(2).isAlive()).isFalse();
  }

  @Test
  void stopSignalsTheRunningNodesReportsNoExitAndStartsNoNodeAfterwards() {
    LocalCluster c = sleepers(3);
    c.startAll();
    c.supervise(Duration.ZERO);
    c.node(3).kill();
    await().atMost(Duration.ofSeconds(10)).until(() -> events.contains("restarted node-3"));
    events.clear();

    c.stop(Duration.ofSeconds(10));

    assertThat(c.nodes()).noneMatch(LocalNode::isAlive);
    assertThat(events).containsExactly("stopping 3");
    assertThat(c.stopping()).isTrue();
    assertThatThrownBy(() -> c.start(c.node(1))).isInstanceOf(CancellationException.class);
    assertThatThrownBy(() -> c.awaitReady(Duration.ofSeconds(1)))
        .isInstanceOf(CancellationException.class);
  }

  @Test
  void theActiveNodeIsTheOneThatAnswers200AndEveryNodeHasAState() throws IOException {
    LocalCluster c = sleepers(4);
    c.startAll();
    answer(c.node(1), 503);
    answer(c.node(2), 200);
    c.node(4).kill();

    assertThat(c.active()).containsSame(c.node(2));
    assertThat(c.awaitActive(Duration.ofSeconds(5))).containsSame(c.node(2));
    assertThat(c.status())
        .extracting(LocalCluster.Status::state)
        .containsExactly(
            LocalCluster.State.STANDBY,
            LocalCluster.State.ACTIVE,
            LocalCluster.State.RUNNING,
            LocalCluster.State.EXITED);
  }

  @Test
  void noActiveNodeIsAwaitedWhenNoNodeRuns() {
    LocalCluster c = sleepers(2);
    c.startAll();
    c.nodes().forEach(LocalNode::kill);

    assertThat(c.awaitActive(Duration.ofMinutes(5))).isEmpty();
  }

  @Test
  void theStateFileNamesEveryNodesUrlAndPid() throws IOException {
    LocalCluster c = sleepers(2);
    c.startAll();
    c.node(2).kill();

    c.writeState();

    assertThat(Files.readString(c.plan().stateFile()))
        .isEqualTo(
            "node-1\t"
                + c.node(1).url()
                + "\t"
                + c.node(1).pid()
                + "\nnode-2\t"
                + c.node(2).url()
                + "\t-\n");
    assertThat(c.plan().nodes().get(0).dataDir()).isDirectory();
  }
}
