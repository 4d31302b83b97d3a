package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Fenced writes of an owner that stopped acting never hold up the next owner, on PostgreSQL. */
class FencePostgresIT {

  private final String url = TestDatabases.postgresUrl();
  private final Database a = open("a");
  private final Database b = open("b");

  @AfterEach
  void close() {
    a.close();
    b.close();
  }

  private Database open(String node) {
    return Database.open(
        url, "postgres", null, 2, Clusters.applicationName("instance-" + node, "db", node));
  }

  private LeaseStore store(Database db, String node) throws Exception {
    LeaseStore s =
        new LeaseStore(
            db.dataSource(),
            Dialect.POSTGRESQL,
            node,
            "instance-" + node,
            ClusterTiming.DEFAULT,
            url,
            "postgres",
            null,
            () -> true);
    assertThat(s.register("http://127.0.0.1:1/" + node, "test")).isNull();
    return s;
  }

  private long activeSleeps(String node) throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", null);
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE"
                        + " 'SELECT pg_sleep%' AND application_name LIKE 'vigil:instance-"
                        + node
                        + ":%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void aNewOwnerEndsThePreviousOwnersWriteInFlightInsteadOfWaitingForIt() throws Exception {
    LeaseStore storeA = store(a, "a");
    LeaseStore storeB = store(b, "b");
    try {
      Epoch first = storeA.acquire(AcquireMode.FREE, null, Epoch.NONE);
      EpochFence fenceA = new EpochFence(a.jdbi(), Dialect.POSTGRESQL, "a", why -> {});
      fenceA.epoch(first.value());
      // A statement of a's that keeps running (as one sending to a process that stopped reading
      // does) holds the fence's share lock; it is not idle, so the idle timeout does not end it.
      CompletableFuture<Throwable> write =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  fenceA.write(h -> h.execute("SELECT pg_sleep(1.9)"));
                  return null;
                } catch (Exception e) {
                  return e;
                }
              });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (activeSleeps("a") == 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(activeSleeps("a")).as("a's write is in flight").isEqualTo(1);
      b.jdbi()
          .useHandle(
              h ->
                  h.execute(
                      "UPDATE cluster_lease SET expires_at = CURRENT_TIMESTAMP - INTERVAL '1 second'"));

      long t0 = System.nanoTime();
      Epoch second = storeB.acquire(AcquireMode.FREE, new NodeId("a"), first);
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

      assertThat(second).isEqualTo(first.next());
      assertThat(ms).as("ms the takeover waited for a's write (it runs 1,900 ms)").isLessThan(1000);
      assertThat(write.get(10, TimeUnit.SECONDS)).as("a's write was rolled back").isNotNull();
    } finally {
      storeA.close();
      storeB.close();
    }
  }

  @Test
  void aFencedStatementThatRunsTooLongIsCancelled() throws Exception {
    LeaseStore storeA = store(a, "a");
    try {
      EpochFence fence = new EpochFence(a.jdbi(), Dialect.POSTGRESQL, "a", why -> {});
      fence.epoch(storeA.acquire(AcquireMode.FREE, null, Epoch.NONE).value());
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> fence.write(h -> h.execute("SELECT pg_sleep(10)")))
          .hasStackTraceContaining("statement timeout");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
          .isLessThan(EpochFence.STATEMENT_TIMEOUT_MILLIS + 3000);
    } finally {
      storeA.close();
    }
  }

  private static long insertEvent(org.jdbi.v3.core.Handle h, String key) {
    return h.createUpdate(
            "INSERT INTO events (source, idempotency_key, type, severity, event_time, received_at)"
                + " VALUES ('external:door', :key, 'door.forced', 'warning', CURRENT_TIMESTAMP,"
                + " CURRENT_TIMESTAMP)")
        .bind("key", key)
        .executeAndReturnGeneratedKeys("id")
        .mapTo(Long.class)
        .one();
  }

  private static java.util.List<Long> eventIds(org.jdbi.v3.core.Handle h) {
    return h.createQuery("SELECT id FROM events WHERE source = 'external:door' ORDER BY id")
        .mapTo(Long.class)
        .list();
  }

  /**
   * The live stream's high-water mark: a write that drew a lower id but commits after a higher one
   * is invisible to a plain read, and a settled read waits for it and sees it.
   */
  @Test
  void aSettledReadWaitsForTheWritesInFlightAndSeesTheLowerIdsTheyDrew() throws Exception {
    LeaseStore storeA = store(a, "a");
    try {
      EpochFence fence = new EpochFence(a.jdbi(), Dialect.POSTGRESQL, "a", why -> {});
      fence.epoch(storeA.acquire(AcquireMode.FREE, null, Epoch.NONE).value());
      a.jdbi().useHandle(h -> h.execute("DELETE FROM events WHERE source = 'external:door'"));
      CompletableFuture<Long> slow =
          CompletableFuture.supplyAsync(
              () ->
                  fence.write(
                      h -> {
                        long id = insertEvent(h, "slow");
                        h.execute("SELECT pg_sleep(1.8)"); // under the 2 s statement timeout
                        return id;
                      }));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (activeSleeps("a") == 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(activeSleeps("a")).as("the slow write is in flight").isEqualTo(1);
      long fast = fence.write(h -> insertEvent(h, "fast"));

      java.util.List<Long> plain = fence.read(FencePostgresIT::eventIds);
      java.util.List<Long> settled = fence.readSettled(FencePostgresIT::eventIds);
      long lower = slow.get(10, TimeUnit.SECONDS);

      assertThat(lower).isLessThan(fast);
      assertThat(plain).as("a plain read while the slow write is open").containsExactly(fast);
      assertThat(settled).containsExactly(lower, fast);
    } finally {
      storeA.close();
    }
  }
}
