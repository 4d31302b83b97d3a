package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.cluster.RoleController.ResourceState;
import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Operators' start and stop requests reach the owner's resources through the real store. */
class FailoverControllerRequestsTest {

  @TempDir Path dir;
  private final Database db = TestDatabases.h2();
  private FailoverController controller;

  @AfterEach
  void close() {
    if (controller != null) {
      controller.close();
    }
    db.close();
  }

  private void request(String action, String resource) {
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "INSERT INTO cluster_requests (action, resource, requested_by) VALUES (?, ?, ?)",
                    action,
                    resource,
                    "alice"));
  }

  private ResourceState state(String resource) {
    return controller.status().resources().stream()
        .filter(r -> r.name().equals(resource))
        .findFirst()
        .orElseThrow()
        .state();
  }

  @Test
  void inMaintenanceTheOwnerStopsAndStartsAResourceAsAnOperatorAsks() throws Exception {
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
    assertThat(store.register("http://127.0.0.1:1", "test")).isNull();
    // Asked for before the node took the role: not for it to carry out.
    request("stop", "worker");
    controller =
        new FailoverController(
            "n1",
            ClusterTiming.DEFAULT,
            RolePolicy.DEFAULT,
            store,
            fence,
            List.of(
                new Idle(FailoverController.CLIENT_ACCESS_POINT, List.of()),
                new Idle("worker", List.of(FailoverController.CLIENT_ACCESS_POINT))),
            List::of,
            dir,
            Map.of(),
            code -> {},
            null);
    controller.start();
    await().atMost(Duration.ofSeconds(20)).until(controller::isServing);
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE cluster_role SET maintenance = TRUE WHERE role = ?", LeaseStore.ROLE));
    await().atMost(Duration.ofSeconds(10)).until(() -> controller.lastView().maintenance());
    assertThat(state("worker")).isEqualTo(ResourceState.RUNNING);

    request("stop", "worker");
    await().atMost(Duration.ofSeconds(10)).until(() -> state("worker") == ResourceState.STOPPED);
    request("start", "worker");
    await().atMost(Duration.ofSeconds(10)).until(() -> state("worker") == ResourceState.RUNNING);
    assertThat(state(FailoverController.CLIENT_ACCESS_POINT)).isEqualTo(ResourceState.RUNNING);
  }

  private record Idle(String name, List<String> dependsOn) implements Resource {
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
