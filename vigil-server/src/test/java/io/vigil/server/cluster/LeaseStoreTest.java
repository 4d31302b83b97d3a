package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lease store's guards, on the embedded database. */
class LeaseStoreTest {

  private final Database db = TestDatabases.h2();

  @AfterEach
  void close() {
    db.close();
  }

  private LeaseStore store(String node) throws Exception {
    LeaseStore s =
        new LeaseStore(
            db.dataSource(),
            Dialect.H2,
            node,
            "instance-" + node,
            ClusterTiming.DEFAULT,
            TestDatabases.h2Url(),
            null,
            null,
            () -> true);
    assertThat(s.register("http://127.0.0.1:1/" + node, "test")).isNull();
    return s;
  }

  private void expireLease() {
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE cluster_lease SET expires_at = TIMESTAMP '2000-01-01 00:00:00'"
                        + " WHERE role = ?",
                    LeaseStore.ROLE));
  }

  private <T> T role(String column, Class<T> type) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT " + column + " FROM cluster_role WHERE role = :role")
                    .bind("role", LeaseStore.ROLE)
                    .mapTo(type)
                    .one());
  }

  @Test
  void aDeposedOwnersLateBookkeepingDoesNotChangeTheNextOwnersRole() throws Exception {
    LeaseStore a = store("a");
    LeaseStore b = store("b");
    Epoch first = a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    assertThat(first).isEqualTo(new Epoch(1));
    expireLease();
    Epoch second = b.acquire(AcquireMode.FREE, new NodeId("a"), first);
    assertThat(second).isEqualTo(first.next());
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE cluster_role SET move_to = 'c', move_requested_by = 'admin'"
                        + " WHERE role = ?",
                    LeaseStore.ROLE));

    // What a was told to do while it owned the role arrives after b took it.
    assertThat(a.markRoleFailed(first, "a resource of a failed too often")).isFalse();
    assertThat(a.clearMove(first)).isFalse();

    assertThat(role("failed", Boolean.class)).isFalse();
    assertThat(role("move_to", String.class)).isEqualTo("c");

    assertThat(b.clearMove(second)).isTrue();
    assertThat(b.markRoleFailed(second, "b's resource failed too often")).isTrue();
    assertThat(role("failed", Boolean.class)).isTrue();
    assertThat(role("move_to", String.class)).isNull();
  }
}
