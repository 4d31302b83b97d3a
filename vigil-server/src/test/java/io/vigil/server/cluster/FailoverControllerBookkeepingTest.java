package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The owner's renewals do not wait for its bookkeeping. */
class FailoverControllerBookkeepingTest {

  @TempDir Path dir;
  private final Database db = TestDatabases.h2();
  private final AtomicBoolean slowHistory = new AtomicBoolean();
  private FailoverController controller;

  @AfterEach
  void close() {
    slowHistory.set(false);
    if (controller != null) {
      controller.close();
    }
    db.close();
  }

  @Test
  void slowHistoryWritesDoNotDelayRenewalsSoTheOwnerKeepsTheRole() throws Exception {
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
            () -> true) {
          @Override
          void history(String event, String reason) throws SQLException {
            if (slowHistory.get()) {
              try {
                Thread.sleep(4000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            super.history(event, reason);
          }
        };
    assertThat(store.register("http://127.0.0.1:1", "test")).isNull();
    controller =
        new FailoverController(
            "n1",
            ClusterTiming.DEFAULT,
            RolePolicy.DEFAULT,
            store,
            fence,
            List.of(new Idle(FailoverController.CLIENT_ACCESS_POINT)),
            List::of,
            dir,
            Map.of(),
            code -> {},
            null);
    // Every history row takes 4 s to write: "acquired", "resource_started", ...
    slowHistory.set(true);
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);
    long epoch = fence.epoch();

    long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
    while (System.nanoTime() < until) {
      assertThat(controller.isActive()).as("still the owner").isTrue();
      Thread.sleep(50);
    }
    assertThat(fence.epoch()).isEqualTo(epoch);
  }

  private record Idle(String name) implements Resource {
    @Override
    public List<String> dependsOn() {
      return List.of();
    }

    @Override
    public ResourcePolicy policy() {
      return ResourcePolicy.DEFAULT;
    }

    @Override
    public void start(long epoch) {}

    @Override
    public void stop() {}

    @Override
    public String check() {
      return null;
    }
  }
}
