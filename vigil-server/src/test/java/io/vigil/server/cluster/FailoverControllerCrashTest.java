package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failover controller that meets what it cannot go on from halts the process, after stopping the
 * role's resources, instead of leaving a zombie owner whose resources run while nobody renews.
 */
class FailoverControllerCrashTest {

  private static final ResourcePolicy FAST =
      new ResourcePolicy(
          Duration.ofMillis(50),
          Duration.ofSeconds(1),
          3,
          Duration.ofMinutes(10),
          Duration.ofSeconds(5),
          Duration.ofSeconds(5));

  @TempDir Path dir;
  private final Database db = TestDatabases.h2();
  private final List<String> stopped = new CopyOnWriteArrayList<>();
  private final AtomicInteger exitCode = new AtomicInteger(-1);
  private final AtomicInteger halts = new AtomicInteger();
  private FailoverController controller;
  private java.util.function.Supplier<List<GenericResource.Definition>> generics = List::of;

  @AfterEach
  void close() {
    if (controller != null) {
      controller.close();
    }
    db.close();
  }

  @Test
  void aVirtualMachineErrorInAResourceCheckStopsTheResourcesAndHaltsWithExitCode70() {
    AtomicBoolean broken = new AtomicBoolean();
    controller = controller(accessPoint(), brokenBy(broken));
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);

    broken.set(true);

    await().atMost(Duration.ofSeconds(15)).until(() -> halts.get() > 0);
    assertThat(exitCode.get()).isEqualTo(FailoverController.EXIT_CONTROLLER_FAILED);
    assertThat(stopped).containsExactlyInAnyOrder(FailoverController.CLIENT_ACCESS_POINT, "broken");
    assertThat(controller.isActive()).isFalse();
    assertThat(leaseOwner()).as("the lease is given up once every resource stopped").isNull();
    assertThat(history("controller-failed")).anyMatch(r -> r.contains("exit code 70"));
  }

  @Test
  void aResourceThatDoesNotStopKeepsTheLeaseUntilItExpiresAndTheProcessStillHalts() {
    AtomicBoolean broken = new AtomicBoolean();
    TestResource stuck = new TestResource("stuck", Duration.ofSeconds(60));
    controller = controller(accessPoint(), stuck, brokenBy(broken));
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);

    broken.set(true);

    await().atMost(Duration.ofSeconds(15)).until(() -> halts.get() > 0);
    assertThat(exitCode.get()).isEqualTo(FailoverController.EXIT_CONTROLLER_FAILED);
    assertThat(leaseOwner()).as("a resource may still run, so the lease is kept").isEqualTo("n1");
    assertThat(history("controller-failed")).anyMatch(r -> r.contains("did not stop"));
  }

  @Test
  void aResourceWhoseStopFailsAndCannotBeEndedByForceKeepsTheLease() {
    AtomicBoolean broken = new AtomicBoolean();
    TestResource failing =
        new TestResource("failing-stop", null) {
          @Override
          public void stop() {
            throw new IllegalStateException("the stop command exited with 1");
          }
        };
    controller = controller(accessPoint(), failing, brokenBy(broken));
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);

    broken.set(true);

    await().atMost(Duration.ofSeconds(15)).until(() -> halts.get() > 0);
    assertThat(leaseOwner()).as("a resource may still run, so the lease is kept").isEqualTo("n1");
    assertThat(history("controller-failed")).anyMatch(r -> r.contains("did not stop"));
  }

  @Test
  void anErrorInTheControllersOwnDatabaseWorkHaltsTheProcess() {
    AtomicBoolean broken = new AtomicBoolean();
    generics =
        () -> {
          if (broken.get()) {
            throw new NoClassDefFoundError("io/vigil/Missing");
          }
          return List.of();
        };
    controller = controller(accessPoint());
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);

    broken.set(true);

    await().atMost(Duration.ofSeconds(15)).until(() -> halts.get() > 0);
    assertThat(exitCode.get()).isEqualTo(FailoverController.EXIT_CONTROLLER_FAILED);
    assertThat(stopped).contains(FailoverController.CLIENT_ACCESS_POINT);
    assertThat(history("controller-failed")).anyMatch(r -> r.contains("io/vigil/Missing"));
  }

  @Test
  void anOrdinaryErrorInAResourceIsTheResourcesFailureAndTheControllerGoesOn() {
    AtomicBoolean failing = new AtomicBoolean();
    TestResource flaky =
        new TestResource("flaky", null) {
          @Override
          public String check() {
            if (failing.getAndSet(false)) {
              throw new AssertionError("a bug in the resource's check");
            }
            return null;
          }
        };
    controller = controller(accessPoint(), flaky);
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);

    failing.set(true);

    await().atMost(Duration.ofSeconds(10)).until(() -> stopped.contains("flaky"));
    await().atMost(Duration.ofSeconds(10)).until(controller::isServing);
    assertThat(halts.get()).isZero();
  }

  private TestResource accessPoint() {
    return new TestResource(FailoverController.CLIENT_ACCESS_POINT, null);
  }

  private TestResource brokenBy(AtomicBoolean broken) {
    return new TestResource("broken", null) {
      @Override
      public String check() {
        if (broken.get()) {
          throw new StackOverflowError("the resource's check overflowed the stack");
        }
        return null;
      }
    };
  }

  private FailoverController controller(Resource... resources) {
    EpochFence fence = new EpochFence(db.jdbi(), Dialect.H2, "n1", why -> {});
    LeaseStore store =
        new LeaseStore(
            db.dataSource(),
            Dialect.H2,
            "n1",
            "instance-1",
            ClusterTiming.DEFAULT,
            TestDatabases.h2Url(),
            null,
            null,
            () -> true);
    try {
      assertThat(store.register("http://127.0.0.1:1", "test")).isNull();
    } catch (java.sql.SQLException e) {
      throw new AssertionError(e);
    }
    return new FailoverController(
        "n1",
        ClusterTiming.DEFAULT,
        RolePolicy.DEFAULT,
        store,
        fence,
        List.of(resources),
        generics,
        dir,
        Map.of(),
        code -> {
          if (halts.getAndIncrement() == 0) {
            exitCode.set(code);
          }
        },
        null);
  }

  private String leaseOwner() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT owner FROM cluster_lease WHERE role = :role")
                    .bind("role", LeaseStore.ROLE)
                    .mapTo(String.class)
                    .findOne()
                    .orElse(null));
  }

  private List<String> history(String event) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT reason FROM cluster_history WHERE event = :event")
                    .bind("event", event)
                    .mapTo(String.class)
                    .list());
  }

  private class TestResource implements Resource {
    private final String name;
    private final Duration stopTakes;

    TestResource(String name, Duration stopTakes) {
      this.name = name;
      this.stopTakes = stopTakes;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<String> dependsOn() {
      return List.of();
    }

    @Override
    public ResourcePolicy policy() {
      return FAST;
    }

    @Override
    public void start(long epoch) {}

    @Override
    public void stop() throws InterruptedException {
      if (stopTakes != null) {
        Thread.sleep(stopTakes);
      }
      stopped.add(name);
    }

    @Override
    public String check() {
      return null;
    }
  }
}
