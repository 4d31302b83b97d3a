package io.vigil.server.cluster;

import io.vigil.server.db.Dialect;
import java.util.function.Consumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;

/**
 * The cluster's {@link Fence}: every write transaction first reads the fencing epoch under a share
 * lock and goes on only if it is still this node's. A takeover changes the epoch row, which waits
 * for the writes that hold the share lock; any write after the takeover finds another epoch and is
 * refused with {@link FencedException}. So a node that was paused or cut off can never commit after
 * a new owner took over.
 *
 * <p>On PostgreSQL the transaction also sets {@code idle_in_transaction_session_timeout}: if the
 * process stops in the middle of a write, PostgreSQL ends its session (rolling the write back and
 * freeing the share lock) instead of making the new owner wait for it, and {@code
 * statement_timeout}, so that a statement that keeps running (or keeps sending to a process that
 * stopped reading) cannot hold the lock either. A new owner also ends such sessions of the previous
 * owner's process at once when it takes the role ({@code LeaseStore}).
 */
public final class EpochFence implements Fence {

  /** The longest a single statement of a fenced write may run on PostgreSQL. */
  static final long STATEMENT_TIMEOUT_MILLIS = 2000;

  private final Jdbi jdbi;
  private final Dialect dialect;
  private final String me;
  private final Consumer<String> onFenced;
  private volatile long epoch = -1;
  private final java.util.concurrent.atomic.AtomicLong changes =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param onFenced told why, each time a write finds that another node owns the role
   */
  public EpochFence(Jdbi jdbi, Dialect dialect, String me, Consumer<String> onFenced) {
    this.jdbi = jdbi;
    this.dialect = dialect;
    this.me = me;
    this.onFenced = onFenced;
  }

  /** The epoch under which this node owns the role now, or -1 when it does not. */
  void epoch(long epoch) {
    long before = this.epoch;
    this.epoch = epoch;
    if (before != epoch) {
      // Another owner may have changed anything meanwhile: every answer kept before is void.
      changes.incrementAndGet();
    }
  }

  @Override
  public long changes() {
    return changes.get();
  }

  public long epoch() {
    return epoch;
  }

  @Override
  public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
    long mine = epoch;
    if (mine < 0) {
      throw new FencedException(
          "Node "
              + me
              + " does not own the role now, so it may not write; send the request to the active node.");
    }
    R result;
    try {
      result = write(mine, work);
    } finally {
      changes.incrementAndGet();
    }
    COMMITTED.set(mine);
    return result;
  }

  private <R, X extends Exception> R write(long mine, HandleCallback<R, X> work) throws X {
    return jdbi.inTransaction(
        h -> {
          boundTimeouts(h);
          var row =
              h.createQuery(
                      "SELECT epoch, owner FROM cluster_epoch WHERE role = :role "
                          + dialect.forShare())
                  .bind("role", LeaseStore.ROLE)
                  .map((rs, ctx) -> new Object[] {rs.getLong("epoch"), rs.getString("owner")})
                  .one();
          long current = (Long) row[0];
          String owner = (String) row[1];
          if (current != mine || !me.equals(owner)) {
            String why =
                "the role's epoch is "
                    + current
                    + " (owner "
                    + owner
                    + "), not this node's "
                    + mine;
            onFenced.accept(why);
            throw new FencedException(
                "Write refused: node "
                    + me
                    + " lost the role ("
                    + why
                    + "). The active node has the current data; retry there.");
          }
          return work.withHandle(h);
        });
  }

  private static final ThreadLocal<Long> COMMITTED = new ThreadLocal<>();

  /**
   * The epoch under which the last write of this thread committed, once: null when it committed
   * none since the last call. Request handling reports it in the {@code Vigil-Epoch} header.
   */
  public static Long takeCommittedEpoch() {
    Long epoch = COMMITTED.get();
    COMMITTED.remove();
    return epoch;
  }

  @Override
  public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
    return jdbi.withHandle(work);
  }

  /**
   * Takes the epoch row with {@code FOR UPDATE}, which waits for every fenced write holding its
   * share lock (each takes it before anything else) and keeps new ones waiting until the callback
   * ends; then runs the callback in the same transaction. On PostgreSQL the wait is bounded by the
   * statement timeout and an idle transaction by the idle timeout, as for a write, so that a
   * process stopped in the middle never holds the lock that a takeover needs.
   */
  @Override
  public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
    return jdbi.inTransaction(
        h -> {
          // As for a write: a process that stops in the middle must not keep the lock.
          boundTimeouts(h);
          h.createQuery("SELECT epoch FROM cluster_epoch WHERE role = :role FOR UPDATE")
              .bind("role", LeaseStore.ROLE)
              .mapTo(Long.class)
              .findOne();
          return work.withHandle(h);
        });
  }

  /**
   * On PostgreSQL, bounds this transaction's statements and its idle time (both settings in one
   * round trip, which runs before every fenced write), so that a process stopped in the middle of
   * one never keeps the epoch row's lock. H2 has neither setting.
   */
  private void boundTimeouts(Handle h) {
    if (dialect == Dialect.POSTGRESQL) {
      h.createQuery(
              "SELECT set_config('idle_in_transaction_session_timeout', '2s', true) AS idle,"
                  + " set_config('statement_timeout', '"
                  + STATEMENT_TIMEOUT_MILLIS
                  + "ms', true) AS statement")
          .mapToMap()
          .one();
    }
  }
}
