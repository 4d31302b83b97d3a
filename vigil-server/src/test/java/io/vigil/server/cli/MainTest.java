package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.config.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  @TempDir Path dir;

  @Test
  void withoutACommandItIsAUsageErrorNamingHelp() {
    Run run = new Run().exec();

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("vigil --help");
  }

  @Test
  void unknownOptionIsAUsageError() {
    Run run = new Run().exec("node", "--http-prot", "1");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("--http-prot");
  }

  @Test
  void userWithoutSubcommandIsAUsageErrorListingThem() {
    Run run = new Run().exec("user");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("add, list, passwd, remove");
  }

  @Test
  void helpListsTheCommandsButNotWarmupAndTheExitCodes() {
    Run run = new Run().exec("--help");

    assertThat(run.exit).isZero();
    assertThat(run.out)
        .contains("node", "start-dev", "user", "server", "protect", "version")
        .contains("3 authentication failed")
        .contains("configure", "6 another vigil configure is running")
        .doesNotContain("warmup");
  }

  @Test
  void versionNamesVigilAndJava() {
    Run run = new Run().exec("version");

    assertThat(run.exit).isZero();
    assertThat(run.out.lines().toList())
        .satisfiesExactly(
            l -> assertThat(l).startsWith("Vigil "),
            l -> assertThat(l).startsWith("Java " + Runtime.version()));
  }

  @Test
  void nodeWithABrokenSettingsFileFailsWithOneLineAndNoStackTrace() throws Exception {
    Files.writeString(dir.resolve("appsettings.json"), "{\"Http\": {\"Prot\": 8080}}");

    Run run = new Run().exec("node", "--data-dir", dir.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines()).singleElement().asString().startsWith("error: ").contains("Prot");
  }

  @Test
  void nodeWithAPortInUseSaysSoInOneLine() throws Exception {
    try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Run run =
          new Run()
              .env("VIGIL_HTTP_HOST", "127.0.0.1")
              .env("VIGIL_HTTP_ALLOW_PLAIN", "true")
              .exec(
                  "node",
                  "--data-dir",
                  dir.toString(),
                  "--http-port",
                  Integer.toString(taken.getLocalPort()));

      assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
      assertThat(run.err.lines())
          .filteredOn(l -> l.startsWith("error: "))
          .singleElement()
          .asString()
          .contains("127.0.0.1:" + taken.getLocalPort())
          .contains("--http-port")
          .endsWith("(port_in_use)");
      assertThat(run.err).doesNotContain("\tat ");
    }
  }

  @Test
  void startDevDefaultsToALoopbackNodeInTheWorkingDirectory() {
    NodeCommand.StartDev dev =
        new NodeCommand.StartDev(new Terminal(Map.of(), null, null, null, null));

    Settings settings = dev.settings();

    assertThat(settings.dataDir).isEqualTo(Path.of(".vigil", "dev").toAbsolutePath());
    assertThat(settings.databaseUrl()).startsWith("jdbc:h2:file:");
    assertThat(settings.http.host).isEqualTo("127.0.0.1");
    assertThat(settings.http.port).isEqualTo(8080);
  }

  @Test
  void startDevHonoursTheEnvironmentOverrides() {
    Terminal terminal =
        new Terminal(
            Map.of(
                "VIGIL_DATA_DIR", "/tmp/vigil-dev-test",
                "VIGIL_DB_URL", "jdbc:postgresql://127.0.0.1/vigil",
                "VIGIL_HTTP_HOST", "0.0.0.0",
                "VIGIL_HTTP_PORT", "9090"),
            null,
            null,
            null,
            null);

    Settings settings = new NodeCommand.StartDev(terminal).settings();

    assertThat(settings.dataDir).isEqualTo(Path.of("/tmp/vigil-dev-test"));
    assertThat(settings.databaseUrl()).isEqualTo("jdbc:postgresql://127.0.0.1/vigil");
    assertThat(settings.http.host).isEqualTo("0.0.0.0");
    assertThat(settings.http.port).isEqualTo(9090);
  }

  @Test
  void nodeDefaultsToTheSystemDataDirectory() {
    assertThat(NodeCommand.Run.defaultDataDir(Map.of()))
        .isEqualTo(
            System.getProperty("os.name").startsWith("Windows")
                ? Path.of("C:\\ProgramData", "Vigil")
                : Path.of("/var/lib/vigil"));
  }

  @Test
  void warmupStartsAThrowawayNodeAndExitsZero() {
    Run run = new Run().exec("warmup");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).contains("warmup done");
  }
}
