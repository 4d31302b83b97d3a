package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.localcluster.LocalCluster;
import io.vigil.server.localcluster.LocalNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevClusterCommandTest {

  @TempDir Path dir;

  @Test
  void nodeCountsOutsideOneToNineAreUsageErrorsThatTouchNothing() {
    for (String n : List.of("0", "-1", "10")) {
      Run run = new Run().exec("start-dev", "--nodes", n, "--data-dir", dir.toString());

      assertThat(run.exit).as(n).isEqualTo(ExitCodes.USAGE);
      assertThat(run.err)
          .contains("--nodes " + n + " is out of range")
          .contains("2 to 9")
          .contains("(nodes_out_of_range)");
    }
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void nodesGetConsecutivePortsFromTheDefaultOrTheGivenBase() {
    LocalCluster.Plan defaults = DevClusterCommand.plan(3, null, dir);
    assertThat(defaults.nodes())
        .extracting(LocalCluster.NodePlan::name)
        .containsExactly("node-1", "node-2", "node-3");
    assertThat(defaults.nodes())
        .extracting(LocalCluster.NodePlan::port)
        .containsExactly(8081, 8082, 8083);
    assertThat(defaults.nodes().get(1).url()).isEqualTo("http://127.0.0.1:8082");

    assertThat(DevClusterCommand.plan(2, 9000, dir).nodes())
        .extracting(LocalCluster.NodePlan::port)
        .containsExactly(9000, 9001);
    assertThat(DevClusterCommand.plan(2, 65534, dir).nodes())
        .extracting(LocalCluster.NodePlan::port)
        .containsExactly(65534, 65535);
  }

  @Test
  void portZeroPicksDistinctFreePorts() {
    Set<Integer> ports =
        DevClusterCommand.plan(4, 0, dir).nodes().stream()
            .map(LocalCluster.NodePlan::port)
            .collect(Collectors.toSet());

    assertThat(ports).hasSize(4).allSatisfy(p -> assertThat(p).isBetween(1, 65535));
  }

  @Test
  void aBasePortThatLeavesNoRoomForEveryNodeIsAUsageError() {
    Run run =
        new Run()
            .exec(
                "start-dev", "--nodes", "3", "--http-port", "65534", "--data-dir", dir.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err)
        .contains("--http-port 65534 does not leave room for 3 nodes")
        .contains("1 to 65533")
        .contains("(port_out_of_range)");
    assertThatThrownBy(() -> DevClusterCommand.plan(2, -5, dir))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("--http-port -5");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void aPortInUseNamesTheNodeAndTheFixBeforeAnythingStarts() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      int base = taken.getLocalPort();
      Run run =
          new Run()
              .exec(
                  "start-dev",
                  "--nodes",
                  "2",
                  "--http-port",
                  Integer.toString(base),
                  "--data-dir",
                  dir.toString());

      assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
      assertThat(run.err)
          .contains("Port " + base + " for node-1 is in use")
          .contains("--http-port")
          .contains("(port_in_use)");
    }
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void withoutAnInstalledDistributionItSaysHowToBuildOne() throws IOException {
    // The ports are checked first: both nodes' ports must be free, not only the first.
    int base = freePorts(2);
    Run run =
        new Run()
            .exec(
                "start-dev",
                "--nodes",
                "2",
                "--http-port",
                Integer.toString(base),
                "--data-dir",
                dir.toString());

    // Unit tests run from target/classes, not from a distribution's lib/ folder.
    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .contains("bin/vigil")
        .contains("./mvnw package")
        .contains("(no_distribution)");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void theLauncherIsFoundFromTheJarInLibOrFromVigilHome() throws IOException {
    Path home = dir.resolve("vigil");
    Path lib = Files.createDirectories(home.resolve("lib"));
    Path bin = Files.createDirectories(home.resolve("bin"));
    Path jar = Files.createFile(lib.resolve("vigil-server.jar"));
    Path launcher = Files.createFile(bin.resolve("vigil"));
    assertThat(DevClusterCommand.launcher(jar, null, false)).as("not executable yet").isNull();
    assertThat(launcher.toFile().setExecutable(true)).isTrue();
    Files.createFile(bin.resolve("vigil.cmd"));

    assertThat(DevClusterCommand.launcher(jar, null, false)).isEqualTo(launcher);
    assertThat(DevClusterCommand.launcher(jar, null, true)).isEqualTo(bin.resolve("vigil.cmd"));
    assertThat(DevClusterCommand.launcher(dir.resolve("classes"), home.toString(), false))
        .isEqualTo(launcher);
    assertThat(DevClusterCommand.launcher(dir.resolve("classes"), null, false)).isNull();
    assertThat(DevClusterCommand.launcher(dir.resolve("other.jar"), "", false)).isNull();
  }

  @Test
  void restartAfterIsAUsageErrorOutsideZeroToAnHourOrWithoutACluster() {
    Run negative =
        new Run()
            .exec(
                "start-dev", "--nodes", "2", "--restart-after", "-1", "--data-dir", dir.toString());
    Run tooLong =
        new Run()
            .exec(
                "start-dev",
                "--nodes",
                "2",
                "--restart-after",
                "3601",
                "--data-dir",
                dir.toString());
    Run single = new Run().exec("start-dev", "--restart-after", "5", "--data-dir", dir.toString());

    assertThat(negative.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(negative.err)
        .contains("--restart-after -1 is out of range")
        .contains("0 to 3600")
        .contains("(restart_after_out_of_range)");
    assertThat(tooLong.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(tooLong.err).contains("(restart_after_out_of_range)");
    assertThat(single.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(single.err).contains("--nodes 2 to 9").contains("(restart_after_without_cluster)");
    assertThat(dir).isEmptyDirectory();
  }

  @Test
  void theDataDirectoryDefaultsToDevClusterAndIsMadeAbsolute() {
    LocalCluster.Plan plan = DevClusterCommand.plan(2, 9100, null);

    assertThat(plan.dir()).isEqualTo(Path.of(".vigil", "dev-cluster").toAbsolutePath());
    assertThat(plan.stateFile()).isEqualTo(plan.dir().resolve("nodes.tsv"));
  }

  /** A port that is free, with the {@code count - 1} ports after it free too. */
  private static int freePorts(int count) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = LocalNode.freePort();
      boolean free = true;
      for (int k = 1; k < count && free; k++) {
        try (ServerSocket probe =
            new ServerSocket(base + k, 1, InetAddress.getByName("127.0.0.1"))) {
          free = probe.isBound();
        } catch (IOException e) {
          free = false;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IOException("no " + count + " consecutive free ports on 127.0.0.1 in 50 attempts");
  }
}
