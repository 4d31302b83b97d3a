package io.vigil.server.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.vigil.client.ServerStatus;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.HandleCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Group commit of heartbeats, on the embedded database ({@link HeartbeatBatchesPostgresIT}: on
 * PostgreSQL).
 */
class HeartbeatBatchesTest {

  Database openDatabase() {
    return TestDatabases.h2();
  }

  private final Database db = openDatabase();
  private final AtomicInteger writes = new AtomicInteger();
  private final CountDownLatch firstWriteMayGo = new CountDownLatch(1);
  private final AtomicBoolean failWrites = new AtomicBoolean();

  /** The unfenced fence, counting writes; the first write waits for the test's go. */
  private final Fence fence =
      new Fence() {
        private final Fence inner = Fence.unfenced(db.jdbi());

        @Override
        public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
          if (writes.incrementAndGet() == 1) {
            try {
              assertThat(firstWriteMayGo.await(10, TimeUnit.SECONDS)).isTrue();
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          }
          if (failWrites.get()) {
            throw new IllegalStateException("the database is away");
          }
          return inner.write(work);
        }

        @Override
        public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
          return inner.read(work);
        }

        @Override
        public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
          return inner.readSettled(work);
        }
      };

  private final HeartbeatBatches batches = new HeartbeatBatches(fence, db.dialect(), Duration.ZERO);

  @AfterEach
  void close() {
    db.close();
  }

  private UUID server(String name, ServerStatus status, String registrant) {
    UUID id = UUID.randomUUID();
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO servers (id, name, name_key, type, address, sw_version,"
                            + " status, revision, registered_at, updated_at, registered_by)"
                            + " VALUES (:id, :name, :name, 'recording-server', 'http://rs:7563',"
                            + " '1.0', :status, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :by)")
                    .bind("id", id)
                    .bind("name", name)
                    .bind("status", status.id())
                    .bind("by", registrant)
                    .execute());
    return id;
  }

  @Test
  void heartbeatsThatArriveDuringAWriteShareTheNextTransactionAndEachGetsItsOwnServer()
      throws Exception {
    int n = 40;
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(server("rs" + i, ServerStatus.ONLINE, "component-" + i));
    }
    List<Future<Optional<Server>>> results = new ArrayList<>();
    try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < n; i++) {
        int k = i;
        results.add(
            threads.submit(
                () ->
                    batches
                        .beat(ids.get(k), "{\"cpuPercent\":" + k + ".0}", "component-" + k)
                        .join()));
        if (i == 0) {
          // The first heartbeat is being written, alone...
          await().atMost(Duration.ofSeconds(10)).until(() -> writes.get() == 1);
        }
      }
      // ...and the others queue behind it.
      await().atMost(Duration.ofSeconds(10)).until(() -> batches.queued() == n - 1);
      firstWriteMayGo.countDown();
      for (int i = 0; i < n; i++) {
        Server s = results.get(i).get(10, TimeUnit.SECONDS).orElseThrow();
        assertThat(s.id()).isEqualTo(ids.get(i));
        assertThat(s.load().cpuPercent()).isEqualTo((double) i);
        assertThat(s.lastSeenAt()).isNotNull();
      }
    }
    assertThat(writes.get())
        .as("one transaction for the first, one for the 39 behind it")
        .isEqualTo(2);
  }

  @Test
  void heartbeatsThatArriveWithinTheLingerShareOneTransaction() throws Exception {
    firstWriteMayGo.countDown();
    HeartbeatBatches lingering = new HeartbeatBatches(fence, db.dialect(), Duration.ofMillis(300));
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(server("l" + i, ServerStatus.ONLINE, null));
    }
    List<Future<Optional<Server>>> results = new ArrayList<>();
    try (var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (UUID id : ids) {
        results.add(threads.submit(() -> lingering.beat(id, null, null).join()));
      }
      for (Future<Optional<Server>> r : results) {
        assertThat(r.get(10, TimeUnit.SECONDS)).isPresent();
      }
    }
    assertThat(writes.get()).as("five heartbeats within 300 ms, one transaction").isEqualTo(1);
  }

  @Test
  void aServerThatIsNotOnlineOrNotTheCallersTakesTheLongerWay() {
    firstWriteMayGo.countDown();
    UUID offline = server("off", ServerStatus.OFFLINE, null);
    UUID others = server("theirs", ServerStatus.ONLINE, "component-a");

    assertThat(batches.beat(offline, null, null).join()).isEmpty();
    assertThat(batches.beat(others, null, "component-b").join()).isEmpty();
    assertThat(batches.beat(UUID.randomUUID(), null, null).join()).isEmpty();
    assertThat(batches.beat(others, null, "component-a").join()).isPresent();
  }

  @Test
  void aHeartbeatHoldsNoThreadWhileItWaitsForItsBatch() throws Exception {
    UUID a = server("held-a", ServerStatus.ONLINE, null);
    List<UUID> behind = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      behind.add(server("held-" + i, ServerStatus.ONLINE, null));
    }
    List<java.util.concurrent.CompletableFuture<Optional<Server>>> pending = new ArrayList<>();
    // One caller thread sends them all: each call must return while the first write is held, as a
    // request thread that answers when the future completes needs it to.
    try (var caller = java.util.concurrent.Executors.newSingleThreadExecutor()) {
      Future<?> sent =
          caller.submit(
              () -> {
                pending.add(batches.beat(a, null, null));
                await().atMost(Duration.ofSeconds(10)).until(() -> writes.get() == 1);
                behind.forEach(id -> pending.add(batches.beat(id, null, null)));
              });
      sent.get(10, TimeUnit.SECONDS);
    }
    assertThat(pending).hasSize(21).noneMatch(java.util.concurrent.CompletableFuture::isDone);
    firstWriteMayGo.countDown();
    for (var f : pending) {
      assertThat(f.get(10, TimeUnit.SECONDS)).isPresent();
    }
    assertThat(writes.get()).as("the first alone, the twenty behind it together").isEqualTo(2);
  }

  @Test
  void aFailedTransactionFailsEveryHeartbeatInItWithItsError() throws Exception {
    UUID a = server("a", ServerStatus.ONLINE, null);
    UUID b = server("b", ServerStatus.ONLINE, null);
    failWrites.set(true);
    var first = batches.beat(a, null, null);
    await().atMost(Duration.ofSeconds(10)).until(() -> writes.get() == 1);
    var second = batches.beat(b, null, null);
    assertThat(batches.queued()).isEqualTo(1);
    firstWriteMayGo.countDown();
    for (var f : List.of(first, second)) {
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(IllegalStateException.class)
          .hasMessageContaining("the database is away");
    }
  }
}
