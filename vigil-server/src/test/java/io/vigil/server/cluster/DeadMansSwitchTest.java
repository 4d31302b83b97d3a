package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.cluster.GenericResource.Definition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dead man's switch as a real process: it ends what generic resources started once the node
 * stops arming it, also daemons that detached themselves, and nothing else.
 */
@EnabledOnOs(OS.LINUX)
class DeadMansSwitchTest {

  private static final ResourcePolicy POLICY =
      new ResourcePolicy(
          Duration.ofSeconds(2),
          Duration.ofSeconds(5),
          3,
          Duration.ofMinutes(10),
          Duration.ofSeconds(5),
          Duration.ofSeconds(5));

  @TempDir Path dir;
  private final String instance = "test-" + UUID.randomUUID();
  private final DeadMansSwitch deadMansSwitch =
      new DeadMansSwitch(instance, "node-a", ClusterTiming.DEFAULT, null, null, null);

  @AfterEach
  void close() {
    deadMansSwitch.close();
  }

  private ProcessHandle daemon(String resource, long epoch, String instance) throws Exception {
    Path pidFile = dir.resolve(resource + "-" + epoch + ".pid");
    GenericResource r =
        new GenericResource(
            new Definition(
                resource,
                "setsid sleep 300 & echo $! > " + pidFile,
                "true",
                null,
                List.of(),
                POLICY),
            "node-a",
            dir,
            instance);
    r.start(epoch);
    long pid = Long.parseLong(Files.readString(pidFile).strip());
    return ProcessHandle.of(pid).orElseThrow();
  }

  @Test
  void whenTheDeadlinePassesWithoutARenewalTheResourcesOfThatEpochEnd() throws Exception {
    deadMansSwitch.ensureRunning();
    ProcessHandle old = daemon("backup-agent", 3, instance);
    ProcessHandle foreign = daemon("backup-agent", 3, "another-instance");
    try {
      long ownerUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
      deadMansSwitch.arm(3, ownerUntil);
      long slack =
          ClusterTiming.DEFAULT
                  .leaseDuration()
                  .minus(ClusterTiming.DEFAULT.renewDeadline())
                  .toNanos()
              / 3;

      Thread.sleep(500);
      assertThat(old.isAlive()).as("before the deadline").isTrue();
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(10))
          .until(() -> ResourceProcesses.ended(old));
      long endedAfter = System.nanoTime() - (ownerUntil + slack);
      assertThat(endedAfter).as("ended after the switch's deadline").isGreaterThanOrEqualTo(0);
      assertThat(TimeUnit.NANOSECONDS.toMillis(endedAfter))
          .as("ms after the deadline; the lease cannot expire before another third of the margin")
          .isLessThan(deadMansSwitch.grace().toMillis() * 2);
      assertThat(foreign.isAlive()).as("another node process's daemon").isTrue();
    } finally {
      foreign.destroyForcibly();
      old.destroyForcibly();
    }
  }

  @Test
  void aNewerEpochSurvivesTheSweepOfAnOlderOne() throws Exception {
    deadMansSwitch.ensureRunning();
    deadMansSwitch.arm(3, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
    ProcessHandle old = daemon("backup-agent", 3, instance);
    await().atMost(Duration.ofSeconds(5)).until(() -> ResourceProcesses.ended(old));
    ProcessHandle current = daemon("backup-agent", 5, instance);
    try {
      deadMansSwitch.arm(5, System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
      Thread.sleep(1500);
      assertThat(current.isAlive()).isTrue();
    } finally {
      current.destroyForcibly();
    }
  }

  @Test
  void whileArmedNothingEndsAndWhenTheNodeGoesEverythingEndsAtOnce() throws Exception {
    deadMansSwitch.ensureRunning();
    ProcessHandle d = daemon("backup-agent", 7, instance);
    try {
      for (int i = 0; i < 10; i++) {
        deadMansSwitch.arm(7, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300));
        Thread.sleep(200);
      }
      assertThat(d.isAlive()).as("armed all along").isTrue();
      deadMansSwitch.arm(7, System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
      long pid = deadMansSwitch.pid();
      long t0 = System.nanoTime();
      deadMansSwitch.close();
      await().atMost(Duration.ofSeconds(5)).until(() -> ResourceProcesses.ended(d));
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(3000);
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("the switch exited")
          .isFalse();
    } finally {
      d.destroyForcibly();
    }
  }

  @Test
  void aSwitchThatWasKilledIsStartedAgainAndStillEndsTheResources() throws Exception {
    deadMansSwitch.ensureRunning();
    long first = deadMansSwitch.pid();
    ProcessHandle d = daemon("backup-agent", 2, instance);
    try {
      ProcessHandle sw = ProcessHandle.of(first).orElseThrow();
      sw.destroyForcibly();
      sw.onExit().get(5, TimeUnit.SECONDS);
      // The next arm finds the pipe broken and starts a new switch with the latest deadline.
      deadMansSwitch.arm(2, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300));
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> deadMansSwitch.pid() > 0 && deadMansSwitch.pid() != first);
      await().atMost(Duration.ofSeconds(8)).until(() -> ResourceProcesses.ended(d));
    } finally {
      d.destroyForcibly();
    }
  }
}
