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
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Group commit for the common heartbeat: a server that is online already and reports for itself.
 * Heartbeats that arrive while one transaction is being written wait for it and then go together in
 * the next: one fenced transaction with one batched {@code UPDATE} (one round trip) and one {@code
 * SELECT} of the rows it changed, however many heartbeats it carries. Under light load a batch is
 * one heartbeat and costs what a heartbeat always cost: one {@code UPDATE} that returns the row.
 * Nothing waits on a timer, so a batch adds no latency beyond the write in front of it.
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
  private final ConcurrentLinkedQueue<Beat> queue = new ConcurrentLinkedQueue<>();
  private final ReentrantLock writing = new ReentrantLock();

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
   * Records the heartbeat of an online server in the next batch.
   *
   * @param load the figures as the row keeps them, or null to keep the previous ones
   * @param registrant the component's client id when a component reports, else null
   * @return the server as it is after the heartbeat; empty when it takes the longer way
   */
  Optional<Server> beat(UUID id, String load, String registrant) {
    Beat beat = new Beat(id, load, registrant, new CompletableFuture<>());
    queue.add(beat);
    // Whoever holds the lock writes a batch; the heartbeats that queued meanwhile wait here and the
    // first to get the lock writes them all, so the others find theirs done.
    writing.lock();
    try {
      if (!beat.done().isDone()) {
        if (!linger.isZero() && queue.size() < MAX_BATCH) {
          // Heartbeats arrive spread over their interval, rarely during a write: wait a moment so
          // that those of the next few milliseconds share this transaction.
          try {
            Thread.sleep(linger);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        write();
      }
    } finally {
      writing.unlock();
    }
    try {
      return beat.done().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw e;
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
