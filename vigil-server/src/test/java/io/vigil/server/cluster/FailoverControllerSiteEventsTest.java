package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.events.EventStore;
import io.vigil.server.testing.TestDatabases;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The failover controller stores Vigil's own events about the role through the fence once it holds
 * it: here {@code cluster.failover} when it takes over from an owner whose lease expired.
 */
class FailoverControllerSiteEventsTest {

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

  List<Map<String, Object>> events(String type) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT source, data_json FROM events WHERE type = :t")
                    .bind("t", type)
                    .mapToMap()
                    .list());
  }

  @Test
  void takingOverFromAnOwnerWhoseLeaseExpiredStoresAClusterFailoverEvent() throws Exception {
    // n0 owned the role at epoch 3 and stopped renewing a minute ago.
    db.jdbi()
        .useHandle(
            h -> {
              h.execute(
                  "UPDATE cluster_lease SET owner = 'n0', epoch = 3, expires_at = "
                      + Dialect.H2.nowPlusMillis(-60_000)
                      + ", owner_has_lock = FALSE, renewed_at = "
                      + Dialect.H2.nowPlusMillis(-64_000));
              h.execute("UPDATE cluster_epoch SET epoch = 3, owner = 'n0'");
            });
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
            null,
            EventStore.siteEvents());
    controller.start();

    await().atMost(Duration.ofSeconds(20)).until(() -> !events("cluster.failover").isEmpty());
    Map<String, Object> e = events("cluster.failover").get(0);
    assertThat(e.get("source")).isEqualTo("node:n1");
    assertThat(e.get("data_json").toString()).contains("\"previousOwner\":\"n0\"");
    assertThat(events("cluster.move")).isEmpty();
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
