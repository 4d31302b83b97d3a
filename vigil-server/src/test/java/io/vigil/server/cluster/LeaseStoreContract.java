package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/** The lease store's contract on a real database. */
abstract class LeaseStoreContract extends LeasesContract {

  private final String url = url();
  private final Database db = open(url);
  private final List<LeaseStore> stores = new ArrayList<>();

  abstract String url();

  abstract Database open(String url);

  abstract Dialect dialect();

  /** The user the lock connection logs in as, or null. */
  abstract String user();

  @AfterEach
  void close() {
    stores.forEach(LeaseStore::close);
    db.close();
  }

  @Override
  Leases node(String name) throws Exception {
    LeaseStore s =
        new LeaseStore(
            db.dataSource(),
            dialect(),
            name,
            "instance-" + name,
            ClusterTiming.DEFAULT,
            url,
            user(),
            null,
            () -> true);
    stores.add(s);
    assertThat(s.register("http://127.0.0.1:1/" + name, "test")).isNull();
    return s;
  }

  @Override
  void expireLease() {
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE cluster_lease SET expires_at = TIMESTAMP '2000-01-01 00:00:00'"
                        + " WHERE role = ?",
                    LeaseStore.ROLE));
  }

  @Override
  void requestMove(String node) {
    db.jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE cluster_role SET move_to = ?, move_requested_by = 'admin' WHERE role = ?",
                    node,
                    LeaseStore.ROLE));
  }

  @Override
  boolean roleFailed() {
    return role("failed", Boolean.class);
  }

  @Override
  String moveTo() {
    return role("move_to", String.class);
  }

  private <T> T role(String column, Class<T> type) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT " + column + " FROM cluster_role WHERE role = :role")
                    .bind("role", LeaseStore.ROLE)
                    .mapTo(type)
                    .findOne()
                    .orElse(null));
  }
}
