package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vigil component}: its command line, exit codes and the state it keeps. */
class ComponentCommandTest {

  @TempDir Path dir;

  @Test
  void aWrongCommandLineIsAUsageError() {
    String[][] wrong = {
      {"component", "run", "--name", "rs1", "--count", "0"},
      {"component", "run", "--name", "rs1", "--type", "toaster"},
      {"component", "run", "--name", "rs1", "--cameras", "1001"},
      {"component", "run", "--name", "rs1", "--heartbeat-seconds", "0"},
      {
        "component",
        "run",
        "--name",
        "rs1",
        "--registration-token",
        "a",
        "--registration-token",
        "b"
      },
      {"component", "run", "--server", "http://127.0.0.1:1"},
      {"component", "run", "--name", "rs1", "--server", "ftp://x"},
      {"component", "token", "revoke", "not-a-uuid", "--server", "http://127.0.0.1:1"}
    };
    for (String[] args : wrong) {
      Run r = new Run().env("VIGIL_PASSWORD", "pw").exec(args);
      assertThat(r.exit).as(String.join(" ", args) + ": " + r.err).isEqualTo(ExitCodes.USAGE);
    }
  }

  @Test
  void aComponentWithNothingToRegisterWithFailsWithTheAuthenticationExitCode() {
    Run r =
        new Run()
            .exec(
                "component",
                "run",
                "--name",
                "rs1",
                "--server",
                "http://127.0.0.1:1",
                "--state-dir",
                dir.toString());
    assertThat(r.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(r.out).contains("rs1: failed:").contains("(no_registration)");
  }

  @Test
  void aStateFileOthersMayReadIsRefused() throws Exception {
    ComponentStates states = new ComponentStates(dir.resolve("state"));
    states.save("rs1", new ComponentStates.State("rs1-01020304", "secret", UUID.randomUUID()));
    Files.setPosixFilePermissions(states.file("rs1"), PosixFilePermissions.fromString("rw-r--r--"));
    Run r =
        new Run()
            .exec(
                "component",
                "run",
                "--name",
                "rs1",
                "--server",
                "http://127.0.0.1:1",
                "--state-dir",
                states.dir().toString());
    assertThat(r.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(r.out).contains("(state_not_private)").doesNotContain("secret\"");
  }

  @Test
  void theStateIsKeptOwnerOnlyAndReadBack() throws Exception {
    ComponentStates states = new ComponentStates(dir.resolve("a").resolve("state"));
    UUID server = UUID.randomUUID();
    assertThat(states.load("rs 1/x")).isEmpty();
    states.save("rs 1/x", new ComponentStates.State("rs1-01020304", "s3cret", server));

    Path file = states.file("rs 1/x");
    assertThat(file.getFileName().toString()).isEqualTo("rs_1_x.json");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(states.dir())))
        .isEqualTo("rwx------");
    ComponentStates.State read = states.load("rs 1/x").orElseThrow();
    assertThat(read.clientId()).isEqualTo("rs1-01020304");
    assertThat(read.clientSecret()).isEqualTo("s3cret");
    assertThat(read.serverId()).isEqualTo(server);
    assertThat(read.toString()).doesNotContain("s3cret");
  }

  @Test
  void anUnreadableStateFileSaysHowToRegisterAgain() throws Exception {
    ComponentStates states = new ComponentStates(dir);
    Files.writeString(states.file("rs1"), "{\"clientId\":\"x\"}");
    Files.setPosixFilePermissions(states.file("rs1"), PosixFilePermissions.fromString("rw-------"));
    try {
      states.load("rs1");
      throw new AssertionError("read a state without its secret");
    } catch (CliException e) {
      assertThat(e.code()).isEqualTo("state_unreadable");
      assertThat(e.getMessage()).contains("delete it to register again");
    }
  }

  @Test
  void theDefaultStateFolderIsTheUsersDataFolder() {
    Path home = Path.of("/home/u");
    assertThat(ComponentStates.defaultDir(Map.of(), "Linux", home))
        .isEqualTo(Path.of("/home/u/.local/share/vigil/components"));
    assertThat(ComponentStates.defaultDir(Map.of("XDG_DATA_HOME", "/data"), "Linux", home))
        .isEqualTo(Path.of("/data/vigil/components"));
    assertThat(ComponentStates.defaultDir(Map.of("XDG_DATA_HOME", "rel"), "Linux", home))
        .isEqualTo(Path.of("/home/u/.local/share/vigil/components"));
    assertThat(ComponentStates.defaultDir(Map.of("LOCALAPPDATA", "/w/local"), "Windows 11", home))
        .isEqualTo(Path.of("/w/local/Vigil/components"));
  }

  static final String TOKEN =
      """
      {"id":"6b1f6c2e-0d3c-4c9f-9f5e-1a2b3c4d5e6f","type":"recording-server","status":"active",
       "createdBy":"admin","createdAt":"2026-03-01T10:00:00Z","expiresAt":"2026-03-01T10:10:00Z",
       "usedAt":null,"usedByClient":null,"serverId":null""";

  @Test
  void tokenCreatePrintsTheTokenAloneOnStandardOutput() throws Exception {
    try (FakeNode node = new FakeNode().signIn()) {
      node.on("POST /api/v1/registration-tokens", 201, TOKEN + ",\"registrationToken\":\"vrt_x\"}");
      Run r =
          new Run()
              .env("VIGIL_SERVER", node.url())
              .env("VIGIL_PASSWORD", "s3cret")
              .exec(
                  "component",
                  "token",
                  "create",
                  "--expires-in",
                  "600",
                  "--type",
                  "recording-server");
      assertThat(r.exit).as(r.err).isZero();
      assertThat(r.out.strip()).isEqualTo("vrt_x");
      assertThat(r.err).contains("registers one recording-server until 2026-03-01T10:10:00Z");
      var body = AdminCommandsTest.parse(node.apiRequests().getFirst().body());
      assertThat(body.get("expiresInSeconds").asInt()).isEqualTo(600);
      assertThat(body.get("type").asText()).isEqualTo("recording-server");
    }
  }

  @Test
  void tokenListShowsStatusNeverTokensAndRevokeDeletesOne() throws Exception {
    try (FakeNode node = new FakeNode().signIn()) {
      node.on(
          "GET /api/v1/registration-tokens",
          200,
          "{\"items\":[" + TOKEN + "}],\"nextCursor\":null}");
      node.on("DELETE /api/v1/registration-tokens/6b1f6c2e-0d3c-4c9f-9f5e-1a2b3c4d5e6f", 204, "");
      Run list =
          new Run()
              .env("VIGIL_SERVER", node.url())
              .env("VIGIL_PASSWORD", "s3cret")
              .exec("component", "token", "list");
      assertThat(list.exit).as(list.err).isZero();
      assertThat(list.out).contains("ID", "STATUS", "active", "recording-server");
      Run revoke =
          new Run()
              .env("VIGIL_SERVER", node.url())
              .env("VIGIL_PASSWORD", "s3cret")
              .exec("component", "token", "revoke", "6b1f6c2e-0d3c-4c9f-9f5e-1a2b3c4d5e6f");
      assertThat(revoke.exit).as(revoke.err).isZero();
      assertThat(node.apiRequests().getLast().method()).isEqualTo("DELETE");
    }
  }
}
