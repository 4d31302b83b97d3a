package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
    DevClusterCommand.Plan defaults = DevClusterCommand.plan(3, null, dir);
    assertThat(defaults.nodes())
        .extracting(DevClusterCommand.NodePlan::name)
        .containsExactly("node-1", "node-2", "node-3");
    assertThat(defaults.nodes())
        .extracting(DevClusterCommand.NodePlan::port)
        .containsExactly(8081, 8082, 8083);
    assertThat(defaults.nodes().get(1).url()).isEqualTo("http://127.0.0.1:8082");

    assertThat(DevClusterCommand.plan(2, 9000, dir).nodes())
        .extracting(DevClusterCommand.NodePlan::port)
        .containsExactly(9000, 9001);
    assertThat(DevClusterCommand.plan(2, 65534, dir).nodes())
        .extracting(DevClusterCommand.NodePlan::port)
        .containsExactly(65534, 65535);
  }

  @Test
  void portZeroPicksDistinctFreePorts() {
    Set<Integer> ports =
        DevClusterCommand.plan(4, 0, dir).nodes().stream()
            .map(DevClusterCommand.NodePlan::port)
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
  void withoutAnInstalledDistributionItSaysHowToBuildOne() {
    int base = DevClusterCommand.freePort();
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
  void everyNodeGetsItsOwnNamePortAndFolderAndSharesTheRest() {
    DevClusterCommand.Plan plan = DevClusterCommand.plan(2, 9100, dir);
    DevClusterCommand.SharedDatabase db =
        new DevClusterCommand.SharedDatabase(
            "jdbc:postgresql://127.0.0.1:5555/vigil", "postgres", null, null);
    Map<String, String> base =
        Map.of(
            "PATH", "/usr/bin",
            "VIGIL_ADVERTISED_URL", "http://one-for-all:1",
            "VIGIL_DB_PASSWORD", "stale",
            "VIGIL_TLS_THUMBPRINT", "0123456789ABCDEF0123456789ABCDEF01234567",
            "VIGIL_HTTP_PORT", "1");

    Map<String, String> one = DevClusterCommand.nodeEnv(base, plan, plan.nodes().get(0), db, "pw");
    Map<String, String> two = DevClusterCommand.nodeEnv(base, plan, plan.nodes().get(1), db, "pw");

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
    assertThat(plan.nodes().get(1).log()).isEqualTo(dir.resolve("node-2").resolve("node-2.log"));

    assertThat(DevClusterCommand.nodeEnv(base, plan, plan.nodes().get(0), db, null))
        .doesNotContainKey("VIGIL_ADMIN_PASSWORD");
  }
}
