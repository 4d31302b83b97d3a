package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.vigil.server.cluster.GenericResource.CommandFailedException;
import io.vigil.server.cluster.GenericResource.Definition;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

@DisabledOnOs(OS.WINDOWS)
class GenericResourceTest {

  private static final ResourcePolicy POLICY =
      new ResourcePolicy(
          Duration.ofSeconds(2),
          Duration.ofSeconds(5),
          3,
          Duration.ofMinutes(10),
          Duration.ofSeconds(5),
          Duration.ofSeconds(5));

  private static final ResourcePolicy SHORT =
      new ResourcePolicy(
          Duration.ofSeconds(2),
          Duration.ofMillis(500),
          3,
          Duration.ofMinutes(10),
          Duration.ofMillis(500),
          Duration.ofMillis(500));

  @TempDir Path dir;

  private static Definition definition(String start, String stop, String check) {
    return new Definition("backup-agent", start, stop, check, List.of("management-server"), POLICY);
  }

  private GenericResource resource(String start, String stop, String check) {
    return new GenericResource(definition(start, stop, check), "node-a", dir);
  }

  @Test
  void startStopAndCheckRunTheirCommandsInTheWorkingDirectory() throws Exception {
    GenericResource resource =
        resource("echo started > state", "echo stopped > state", "grep -q started state");

    assertThat(resource.name()).isEqualTo("backup-agent");
    assertThat(resource.dependsOn()).containsExactly("management-server");
    assertThat(resource.policy()).isEqualTo(POLICY);

    resource.start(7);
    assertThat(Files.readString(dir.resolve("state")).strip()).isEqualTo("started");
    assertThat(resource.check()).isNull();

    resource.stop();
    assertThat(Files.readString(dir.resolve("state")).strip()).isEqualTo("stopped");
    assertThat(resource.check()).isEqualTo("check command exited with 1, no output");
  }

  @Test
  void failingStartNamesTheResourceTheExitCodeAndTheLastOutput() {
    GenericResource resource =
        resource("echo preparing; echo 'port 8080 in use' >&2; exit 3", "true", null);

    assertThatThrownBy(() -> resource.start(1))
        .isInstanceOf(CommandFailedException.class)
        .hasMessage(
            "start command of resource backup-agent exited with 3, output «preparing | port 8080 in"
                + " use»")
        .satisfies(e -> assertThat(((CommandFailedException) e).exitCode()).isEqualTo(3));
  }

  @Test
  void failingStopAndCheckReportCodeAndOutput() throws Exception {
    GenericResource resource =
        resource("true", "echo still busy; exit 4", "echo queue stalled >&2; exit 2");

    assertThatThrownBy(resource::stop)
        .isInstanceOf(CommandFailedException.class)
        .hasMessage("stop command of resource backup-agent exited with 4, output «still busy»");
    assertThat(resource.check()).isEqualTo("check command exited with 2, output «queue stalled»");
  }

  @Test
  void failureMessageKeepsOnlyTheTailOfLongOutput() {
    // 20 000 lines: far more than the pipe buffer, so this also shows the pipe is drained.
    GenericResource resource =
        resource(
            "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; exit 1", "true", null);

    assertThatThrownBy(() -> resource.start(1))
        .isInstanceOfSatisfying(
            CommandFailedException.class,
            e -> {
              assertThat(e.getMessage())
                  .endsWith(
                      ", output «line 19995 | line 19996 | line 19997 | line 19998 | line 19999»");
              assertThat(e.output()).hasSizeLessThanOrEqualTo(GenericResource.OUTPUT_TAIL_BYTES);
              assertThat(e.output()).endsWith("line 19999\n").doesNotContain("line 0\n");
            });
  }

  @Test
  void commandsSeeResourceNodeAndEpochOfTheLastStart() throws Exception {
    GenericResource resource =
        resource(
            "echo \"$VIGIL_RESOURCE $VIGIL_NODE $VIGIL_EPOCH\" > start.env",
            "echo \"$VIGIL_RESOURCE $VIGIL_NODE $VIGIL_EPOCH\" > stop.env",
            "echo \"$VIGIL_RESOURCE $VIGIL_NODE $VIGIL_EPOCH\" > check.env");

    resource.start(42);
    resource.check();
    resource.stop();

    assertThat(Files.readString(dir.resolve("start.env")).strip())
        .isEqualTo("backup-agent node-a 42");
    assertThat(Files.readString(dir.resolve("check.env")).strip())
        .isEqualTo("backup-agent node-a 42");
    assertThat(Files.readString(dir.resolve("stop.env")).strip())
        .isEqualTo("backup-agent node-a 42");
  }

  @Test
  void commandsGetOnlyTheEnvironmentTheyAreGivenNotTheNodes() throws Exception {
    GenericResource resource =
        new GenericResource(
            definition("env > start.env", "true", null),
            "node-a",
            dir,
            "instance-1",
            java.util.Map.of("PATH", "/usr/bin:/bin", "BACKUP_TARGET", "nas-1"));

    resource.start(5);

    List<String> lines = Files.readAllLines(dir.resolve("start.env"));
    assertThat(lines)
        .contains(
            "PATH=/usr/bin:/bin",
            "BACKUP_TARGET=nas-1",
            "VIGIL_RESOURCE=backup-agent",
            "VIGIL_NODE=node-a",
            "VIGIL_EPOCH=5",
            ResourceProcesses.INSTANCE + "=instance-1");
    // The shell may add a few of its own (PWD, SHLVL, _); nothing of the node's comes through.
    assertThat(lines.stream().map(l -> l.substring(0, l.indexOf('='))))
        .allMatch(
            name ->
                List.of("PATH", "BACKUP_TARGET", "PWD", "SHLVL", "_").contains(name)
                    || name.startsWith("VIGIL_RESOURCE")
                    || name.equals("VIGIL_NODE")
                    || name.equals("VIGIL_EPOCH")
                    || name.equals(ResourceProcesses.INSTANCE));
  }

  @Test
  void theTestsOwnEnvironmentDoesNotReachACommandUnlessPassed() throws Exception {
    // The JVM running this test has variables such as JAVA_HOME or MAVEN_* that no clean list
    // passes; any one of them stands in for VIGIL_DB_PASSWORD.
    String secret =
        System.getenv().keySet().stream()
            .filter(n -> !n.equals("PATH") && !n.equals("HOME") && !n.startsWith("LC_"))
            .filter(n -> !CommandEnvironment.UNIX_LIST.contains(n))
            .findFirst()
            .orElseThrow();
    GenericResource resource = resource("env > start.env", "true", null);

    resource.start(1);

    assertThat(Files.readString(dir.resolve("start.env"))).doesNotContain(secret + "=");
  }

  @Test
  void aCommandWithANulOrAnotherControlCharacterIsRefused() {
    for (String command : List.of("echo a\u0000b", "echo \u001b[2J", "echo \u007f")) {
      assertThatThrownBy(() -> GenericResource.validate(definition(command, "true", null)))
          .as(command)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(
              "start command of generic resource backup-agent contains the"
                  + " control character U+");
    }
    GenericResource.validate(definition("echo a\tb\n  echo c\r\n", "true", null));
  }

  @Test
  void stopBeforeAnyStartHasNoEpoch() throws Exception {
    GenericResource resource =
        resource("true", "echo \"epoch=${VIGIL_EPOCH-unset}\" > stop.env", null);

    resource.stop();

    assertThat(Files.readString(dir.resolve("stop.env")).strip()).isEqualTo("epoch=unset");
  }

  @Test
  void commandsReadNothingFromStdin() throws Exception {
    // `cat` with no input must end at once instead of waiting on the node's stdin.
    GenericResource resource = resource("cat > input", "true", null);

    resource.start(1);

    assertThat(Files.readString(dir.resolve("input"))).isEmpty();
  }

  @Test
  void startThatOverrunsIsKilledWithItsChildren() throws Exception {
    Path childPid = dir.resolve("child.pid");
    GenericResource resource =
        new GenericResource(
            new Definition(
                "slow-start",
                "sleep 30 & echo $! > child.pid; sleep 30",
                "true",
                null,
                List.of(),
                SHORT),
            "node-a",
            dir);

    long began = System.nanoTime();
    assertThatThrownBy(() -> resource.start(1))
        .isInstanceOf(TimeoutException.class)
        .hasMessageStartingWith("start command of resource slow-start timed out after 500 ms");
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);

    assertThat(tookMillis).isLessThan(5_000);
    long pid = Long.parseLong(Files.readString(childPid).strip());
    // Gone when the call returns, not eventually.
    assertThat(running(pid)).as("process %d is running", pid).isFalse();
  }

  @Test
  void childThatIgnoresTheTerminationSignalIsKilledForcibly() throws Exception {
    Path childPid = dir.resolve("child.pid");
    GenericResource resource =
        new GenericResource(
            new Definition(
                "stubborn",
                "true",
                "sh -c 'trap \"\" TERM; echo $$ > child.pid; while :; do sleep 1; done' & wait",
                null,
                List.of(),
                SHORT),
            "node-a",
            dir);

    assertThatThrownBy(resource::stop)
        .isInstanceOf(TimeoutException.class)
        .hasMessageStartingWith("stop command of resource stubborn timed out after 500 ms");

    long pid = Long.parseLong(Files.readString(childPid).strip());
    assertThat(running(pid)).as("process %d is running", pid).isFalse();
  }

  @Test
  void checkThatOverrunsIsKilled() {
    GenericResource resource =
        new GenericResource(
            new Definition("slow-check", "true", "true", "sleep 30", List.of(), SHORT),
            "node-a",
            dir);

    assertThatThrownBy(resource::check)
        .isInstanceOf(TimeoutException.class)
        .hasMessageStartingWith("check command of resource slow-check timed out after 500 ms");
  }

  @Test
  void interruptingTheCallerKillsTheCommandAndItsChildren() throws Exception {
    Path childPid = dir.resolve("child.pid");
    GenericResource resource = resource("sleep 30 & echo $! > child.pid; sleep 30", "true", null);
    AtomicReference<Thread> worker = new AtomicReference<>();
    CompletableFuture<Void> call =
        CompletableFuture.runAsync(
            () -> {
              worker.set(Thread.currentThread());
              try {
                resource.start(1);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(childPid));
    long pid = Long.parseLong(Files.readString(childPid).strip());

    worker.get().interrupt();

    assertThatThrownBy(() -> call.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .rootCause()
        .isInstanceOf(InterruptedException.class);
    assertThat(running(pid)).as("process %d is running", pid).isFalse();
  }

  @Test
  void startMayLeaveADaemonRunning() throws Exception {
    // A start command that launches a background service and exits at once: the call returns
    // promptly although the daemon keeps the output pipe open, and the daemon is left alone.
    Path daemonPid = dir.resolve("daemon.pid");
    GenericResource resource =
        resource("sleep 30 & echo $! > daemon.pid", "kill $(cat daemon.pid)", null);

    long began = System.nanoTime();
    resource.start(1);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)).isLessThan(3_000);

    long pid = Long.parseLong(Files.readString(daemonPid).strip());
    Optional<ProcessHandle> daemon = ProcessHandle.of(pid);
    assertThat(daemon).isPresent();
    assertThat(daemon.get().isAlive()).isTrue();

    resource.stop();
    daemon.get().onExit().get(5, TimeUnit.SECONDS);
  }

  @Test
  void forceStopEndsDetachedDaemonsOfTheResourceAndSparesEveryOtherProcess() throws Exception {
    // A daemon in a session of its own, no longer anybody's descendant once the shell exits, and a
    // stop command that does not stop it.
    GenericResource resource =
        new GenericResource(
            definition("setsid sleep 300 & echo $! > daemon.pid", "exit 1", null),
            "node-a",
            dir,
            "instance-force");
    GenericResource other =
        new GenericResource(
            new Definition(
                "other-agent", "sleep 300 & echo $! > other.pid", "true", null, List.of(), POLICY),
            "node-a",
            dir,
            "instance-force");
    GenericResource otherNode =
        new GenericResource(
            definition("sleep 300 & echo $! > elsewhere.pid", "true", null),
            "node-b",
            dir,
            "instance-elsewhere");
    resource.start(4);
    other.start(4);
    otherNode.start(4);
    ProcessHandle daemon = pid("daemon.pid");
    ProcessHandle spared = pid("other.pid");
    ProcessHandle sparedElsewhere = pid("elsewhere.pid");
    try {
      assertThatThrownBy(resource::stop).isInstanceOf(CommandFailedException.class);
      assertThat(daemon.isAlive()).isTrue();

      assertThat(resource.forceStop()).isTrue();

      assertThat(ResourceProcesses.ended(daemon)).as("the detached daemon ended").isTrue();
      assertThat(spared.isAlive()).as("another resource's process").isTrue();
      assertThat(sparedElsewhere.isAlive()).as("another node process's resource").isTrue();
    } finally {
      spared.destroyForcibly();
      sparedElsewhere.destroyForcibly();
      daemon.destroyForcibly();
    }
  }

  private ProcessHandle pid(String file) throws Exception {
    long pid = Long.parseLong(Files.readString(dir.resolve(file)).strip());
    return ProcessHandle.of(pid).orElseThrow();
  }

  @Test
  void withoutCheckCommandTheResourceIsHealthy() throws Exception {
    assertThat(resource("true", "true", null).check()).isNull();
  }

  @Test
  void commandThatCannotRunNamesTheResource() {
    GenericResource resource =
        new GenericResource(
            definition("true", "true", null), "node-a", dir.resolve("does-not-exist"));

    assertThatThrownBy(() -> resource.start(1))
        .hasMessageContaining("start command of resource backup-agent could not be run")
        .hasMessageContaining("does-not-exist");
  }

  @Test
  void validationNamesTheFieldAndTheFix() {
    assertInvalid(
        new Definition("Backup", "true", "true", null, List.of(), POLICY),
        "name of generic resource 'Backup' is invalid: use 1 to 63 lower-case letters");
    assertInvalid(
        new Definition("a".repeat(64), "true", "true", null, List.of(), POLICY),
        "name of generic resource '" + "a".repeat(64) + "' is invalid");
    assertInvalid(new Definition("9lives", "true", "true", null, List.of(), POLICY), "is invalid");
    assertInvalid(
        new Definition(null, "true", "true", null, List.of(), POLICY),
        "name of generic resource is missing");
    assertInvalid(
        new Definition("agent", " ", "true", null, List.of(), POLICY),
        "start command of generic resource agent is blank: give the shell command that starts it");
    assertInvalid(
        new Definition("agent", "true", null, null, List.of(), POLICY),
        "stop command of generic resource agent is missing: give the shell command that stops it");
    assertInvalid(
        new Definition("agent", "x".repeat(4097), "true", null, List.of(), POLICY),
        "start command of generic resource agent is 4097 characters long, more than the 4096"
            + " allowed: put the commands in a script");
    assertInvalid(
        new Definition("agent", "true", "true", "", List.of(), POLICY),
        "check command of generic resource agent is blank: leave it out for no health check");
    assertInvalid(
        new Definition("agent", "true", "true", null, List.of("agent"), POLICY),
        "generic resource agent depends on itself: remove it from its dependsOn");
    assertInvalid(
        new Definition("agent", "true", "true", null, List.of("db", "db"), POLICY),
        "dependsOn of generic resource agent lists 'db' twice");
    assertInvalid(
        new Definition("agent", "true", "true", null, List.of("Management Server"), POLICY),
        "dependsOn of generic resource agent contains 'Management Server', which is not a"
            + " resource name");
    assertInvalid(
        new Definition("agent", "true", "true", null, null, POLICY),
        "dependsOn of generic resource agent is missing");
    assertInvalid(
        new Definition("agent", "true", "true", null, List.of(), null),
        "policy of generic resource agent is missing");
    assertInvalid(
        new Definition(
            "agent",
            "true",
            "true",
            null,
            List.of(),
            new ResourcePolicy(
                Duration.ofSeconds(2),
                Duration.ofSeconds(2),
                3,
                Duration.ofMinutes(10),
                Duration.ZERO,
                Duration.ofSeconds(1))),
        "start timeout of generic resource agent must be positive");

    // The longest valid values pass.
    GenericResource.validate(
        new Definition(
            "a" + "-".repeat(62), "x".repeat(4096), "true", null, List.of("b-1"), POLICY));
  }

  @Test
  void constructorRejectsInvalidDefinitions() {
    assertThatThrownBy(
            () ->
                new GenericResource(
                    new Definition("agent", "true", "true", null, List.of("agent"), POLICY),
                    "node-a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("depends on itself");
  }

  /**
   * Whether {@code pid} still runs code. A killed orphan may remain a zombie until init reaps it,
   * which some init processes do only periodically; a zombie no longer runs.
   */
  private static boolean running(long pid) throws Exception {
    if (ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty()) {
      return false;
    }
    if (!Files.isDirectory(Path.of("/proc/self"))) {
      return true; // no /proc (macOS): isAlive is all there is
    }
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    try {
      String line = Files.readString(stat);
      return line.charAt(line.lastIndexOf(')') + 2) != 'Z';
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  private static void assertInvalid(Definition definition, String message) {
    assertThatThrownBy(() -> GenericResource.validate(definition))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }
}
