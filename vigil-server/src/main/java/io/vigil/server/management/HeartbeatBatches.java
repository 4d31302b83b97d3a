package io.vigil.server.management;

import io.vigil.client.ServerStatus;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Dialect;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Group commit for the common heartbeat: a server that is online already and reports for itself.
 * One writer at a time takes every heartbeat that has queued and writes them together: one fenced
 * transaction with one batched {@code UPDATE} (one round trip) and one {@code SELECT} of the rows
 * it changed, however many heartbeats it carries. A writer starts when a heartbeat finds none
 * running; it first waits the linger ({@code Collector.HeartbeatBatchMillis}) for others to join,
 * then writes batch after batch while heartbeats keep arriving, and ends when none is left. Under
 * light load a batch is one heartbeat and costs what a heartbeat always cost: one {@code UPDATE}
 * that returns the row.
 *
 * <p>The caller gets a future and holds nothing while its batch lingers or is written: no lock and
 * no thread, so a burst of heartbeats (a thousand components after a failover) cannot take every
 * request thread of the node while a batch is written, and each heartbeat completes as soon as its
 * own batch committed. The writer runs on a virtual thread of its own.
 *
 * <p>A heartbeat whose {@code UPDATE} changed no row (the server is not online, is not the
 * caller's, or does not exist) completes with empty and takes the longer way in {@link
 * ServerRegistry}. A failed transaction fails every heartbeat in it with the same exception, as one
 * heartbeat's own transaction would have.
 */
final class HeartbeatBatches {

  /** The most heartbeats in one transaction. */
  static final int MAX_BATCH = 500;

  private static final String UPDATE =
      "UPDATE servers SET last_seen_at = CURRENT_TIMESTAMP, load_figures ="
          + " COALESCE(CAST(:load AS VARCHAR(10000)), load_figures) WHERE id = :id AND status ="
          + " :online AND (CAST(:registrant AS VARCHAR(64)) IS NULL OR registered_by = :registrant)";

  /** A heartbeat waiting for its batch. */
  private record Beat(
      UUID id, String load, String registrant, CompletableFuture<Optional<Server>> done) {}

  private final Fence fence;
  private final Dialect dialect;
  private final java.time.Duration linger;
  private final Executor writer = r -> Thread.ofVirtual().name("vigil-heartbeats").start(r);
  private final ConcurrentLinkedQueue<Beat> queue = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean writing = new AtomicBoolean();

  /**
   * @param linger how long the heartbeat that starts a batch waits for others to join it; zero
   *     writes at once (heartbeats that arrive during a write still share the next)
   */
  HeartbeatBatches(Fence fence, Dialect dialect, java.time.Duration linger) {
    this.fence = fence;
    this.dialect = dialect;
    this.linger = linger;
  }

  /**
   * Queues the heartbeat of an online server for the next batch and returns at once.
   *
   * @param load the figures as the row keeps them, or null to keep the previous ones
   * @param registrant the component's client id when a component reports, else null
   * @return completes with the server as it is after the heartbeat once its batch committed; with
   *     empty when it takes the longer way; exceptionally with the batch's error
   */
  CompletableFuture<Optional<Server>> beat(UUID id, String load, String registrant) {
    Beat beat = new Beat(id, load, registrant, new CompletableFuture<>());
    queue.add(beat);
    if (writing.compareAndSet(false, true)) {
      try {
        writer.execute(this::drain);
      } catch (RuntimeException | Error e) {
        writing.set(false);
        failQueued(e);
      }
    }
    return beat.done();
  }

  /**
   * The writer: lingers once, then writes batches until the queue is empty. A heartbeat queued
   * after the last look finds no writer and starts one; one queued before it is seen by the look
   * that follows giving the writer up, so none is left behind.
   */
  private void drain() {
    if (!linger.isZero() && queue.size() < MAX_BATCH) {
      // Heartbeats arrive spread over their interval, rarely during a write: wait a moment so that
      // those of the next few milliseconds share this transaction.
      try {
        Thread.sleep(linger);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    while (true) {
      try {
        while (!queue.isEmpty()) {
          write();
        }
      } finally {
        writing.set(false);
      }
      if (queue.isEmpty() || !writing.compareAndSet(false, true)) {
        return;
      }
    }
  }

  private void failQueued(Throwable e) {
    Beat b;
    while ((b = queue.poll()) != null) {
      b.done().completeExceptionally(e);
    }
  }

  /** How many heartbeats wait for a batch now. */
  int queued() {
    return queue.size();
  }

  private void write() {
    List<Beat> batch = new ArrayList<>();
    Beat b;
    while (batch.size() < MAX_BATCH && (b = queue.poll()) != null) {
      batch.add(b);
    }
    if (batch.isEmpty()) {
      return;
    }
    try {
      List<Optional<Server>> results = fence.write(h -> write(h, batch));
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).done().complete(results.get(i));
      }
    } catch (RuntimeException | Error e) {
      batch.forEach(x -> x.done().completeExceptionally(e));
    }
  }

  private List<Optional<Server>> write(Handle h, List<Beat> batch) {
    if (batch.size() == 1) {
      Beat one = batch.getFirst();
      return List.of(
          h.createQuery(dialect.updateReturningRows(UPDATE))
              .bind("load", one.load())
              .bind("id", one.id())
              .bind("online", ServerStatus.ONLINE.id())
              .bind("registrant", one.registrant())
              .map(ServerRegistry::row)
              .findOne()
              .map(Page.Keyed::value));
    }
    PreparedBatch update = h.prepareBatch(UPDATE);
    for (Beat beat : batch) {
      update
          .bind("load", beat.load())
          .bind("id", beat.id())
          .bind("online", ServerStatus.ONLINE.id())
          .bind("registrant", beat.registrant())
          .add();
    }
    int[] counts = update.execute();
    List<UUID> changed = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      if (counts[i] > 0) {
        changed.add(batch.get(i).id());
      }
    }
    Map<UUID, Server> rows = new HashMap<>();
    if (!changed.isEmpty()) {
      h.createQuery("SELECT * FROM servers WHERE id IN (<ids>)")
          .bindList("ids", changed.stream().distinct().toList())
          .map(ServerRegistry::row)
          .forEach(k -> rows.put(k.value().id(), k.value()));
    }
    List<Optional<Server>> results = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      results.add(
          counts[i] > 0 ? Optional.ofNullable(rows.get(batch.get(i).id())) : Optional.empty());
    }
    return results;
  }
}
