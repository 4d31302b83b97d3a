package io.vigil.server.localcluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The process edge of a local node, with small shell programs in place of a Vigil node. */
@DisabledOnOs(OS.WINDOWS)
class LocalNodeTest {

  @TempDir Path dir;
  private LocalNode node;

  @AfterEach
  void killTheProcess() {
    if (node != null) {
      node.kill();
    }
  }

  private LocalNode shell(String script) {
    node =
        new LocalNode(
            new LocalNode.Spec(
                "node-1",
                LocalNode.freePort(),
                dir.resolve("node-1").resolve("node-1.log"),
                List.of("sh", "-c", script),
                Map.of("PATH", System.getenv("PATH"), "GREETING", "hello")));
    return node;
  }

  @Test
  void everyStartAppendsAMarkerAndTheOutputAndTheProcessSeesOnlyItsEnvironment() {
    LocalNode n = shell("echo \"$GREETING home=${HOME:-none}\"; exit 3");

    n.start();
    assertThat(n.awaitExit(Duration.ofSeconds(10))).isTrue();
    assertThat(n.exitCode()).hasValue(3);
    n.start();
    assertThat(n.awaitExit(Duration.ofSeconds(10))).isTrue();

    assertThat(n.logText().lines().filter(l -> l.startsWith(LocalNode.START_MARKER + "node-1")))
        .hasSize(2);
    assertThat(n.logText()).contains("hello home=none");
    assertThat(n.logTail(10)).isEqualTo("hello home=none");
  }

  @Test
  void aNodeThatRunsCannotBeStartedTwice() {
    LocalNode n = shell("exec sleep 60").start();

    assertThatThrownBy(n::start).hasMessageContaining("node-1 is running already");
  }

  @Test
  void stopEndsANodeWithSigtermAndKillsOneThatIgnoresIt() throws IOException {
    LocalNode polite = shell("exec sleep 60").start();
    assertThat(polite.stop(Duration.ofSeconds(10))).isEqualTo(143);

    LocalNode stubborn = shell("trap '' TERM; echo armed; while :; do sleep 0.1; done").start();
    await().atMost(Duration.ofSeconds(10)).until(() -> stubborn.logText().contains("armed"));
    assertThat(stubborn.stop(Duration.ofMillis(300))).isEqualTo(137);
    assertThat(stubborn.isAlive()).isFalse();
  }

  @Test
  void stopAndContSuspendAndResumeTheProcessAndStopResumesItFirst() {
    LocalNode n = shell("exec sleep 60").start();
    Path stat = Path.of("/proc", Long.toString(n.pid()), "stat");

    n.signal(LocalNode.Signal.STOP);
    await().atMost(Duration.ofSeconds(10)).until(() -> state(stat) == 'T');
    n.signal(LocalNode.Signal.CONT);
    await().atMost(Duration.ofSeconds(10)).until(() -> state(stat) != 'T');

    // A stopped process handles SIGTERM only once resumed: stop resumes it.
    n.signal(LocalNode.Signal.STOP);
    await().atMost(Duration.ofSeconds(10)).until(() -> state(stat) == 'T');
    assertThat(n.stop(Duration.ofSeconds(10))).isEqualTo(143);
  }

  @Test
  void waitingForReadinessEndsWithTheExitCodeAndTheLogWhenTheNodeExits() {
    LocalNode n = shell("echo 'cannot open the database'; exit 1").start();

    assertThatThrownBy(() -> n.awaitReady(Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(
            LocalNode.NotReadyException.class,
            e -> {
              assertThat(e.node()).isSameAs(n);
              assertThat(e.path()).isEqualTo("/health/ready");
              assertThat(e.exitCode()).hasValue(1);
            })
        .hasMessageContaining("node-1 exited with code 1")
        .hasMessageContaining("cannot open the database");
  }

  @Test
  void waitingForLivenessTimesOutWhenNothingAnswers() {
    LocalNode n = shell("exec sleep 60").start();

    assertThatThrownBy(() -> n.awaitLive(Duration.ofMillis(200)))
        .isInstanceOfSatisfying(
            LocalNode.NotReadyException.class, e -> assertThat(e.exitCode()).isEmpty())
        .hasMessageContaining("did not answer /health/live at " + n.url());
    assertThat(n.status("/health/live")).isEqualTo(-1);
  }

  @Test
  void beforeTheFirstStartThereIsNoPidAndNothingToSignal() {
    LocalNode n = shell("exit 0");

    assertThat(n.hasStarted()).isFalse();
    assertThat(n.isAlive()).isFalse();
    assertThat(n.kill()).isEqualTo(-1);
    assertThatThrownBy(n::pid).hasMessageContaining("has not been started");
  }

  private static char state(Path stat) throws IOException {
    String s = Files.readString(stat);
    return s.charAt(s.lastIndexOf(')') + 2);
  }
}
