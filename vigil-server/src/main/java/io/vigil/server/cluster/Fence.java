package io.vigil.server.cluster;

import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;

/**
 * The one way a role resource opens a write transaction. Every write runs inside {@link #write}, so
 * that the failover controller can check, in the same transaction, that this node still owns the
 * role before anything commits.
 *
 * <p>Nodes use {@link EpochFence}, which checks that the node still owns the role's epoch, on a
 * single server as in a cluster. {@link #unfenced} is for code that runs without a failover
 * controller (tests of a single part).
 */
public interface Fence {

  <R, X extends Exception> R write(HandleCallback<R, X> work) throws X;

  /** Read-only work; never fenced, never holds locks longer than the callback. */
  <R, X extends Exception> R read(HandleCallback<R, X> work) throws X;

  /**
   * Read-only work that runs once every fenced write in flight has ended: it sees every write that
   * committed before it, and a write it does not see has not yet drawn an id from any table's
   * identity, so that id will be higher than every id it sees. The live event stream reads its
   * high-water mark this way, so that a transaction that drew a lower id but commits later is never
   * skipped. It briefly holds fenced writes back (for as long as the callback runs): keep the work
   * to a few small queries.
   */
  <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X;

  /**
   * A count that moves after every write through this fence ends (committed, rolled back or
   * refused) and whenever this node takes or loses the role: an answer read while it did not move
   * (the same value before the read began and after it ended) stays current for as long as it does
   * not move, since every change to the data goes through the fence of the node that owns the role.
   * Negative when this fence counts nothing, and then nothing read may be kept.
   */
  default long changes() {
    return -1;
  }

  /** A fence that checks nothing: for parts tested without a failover controller. */
  static Fence unfenced(Jdbi jdbi) {
    java.util.concurrent.atomic.AtomicLong changes = new java.util.concurrent.atomic.AtomicLong();
    return new Fence() {
      @Override
      public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
        try {
          return jdbi.inTransaction(work);
        } finally {
          changes.incrementAndGet();
        }
      }

      @Override
      public long changes() {
        return changes.get();
      }

      @Override
      public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
        return jdbi.withHandle(work);
      }

      // Without a fence there is no lock that writes hold: a plain read-only transaction.
      @Override
      public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
        return jdbi.inTransaction(work);
      }
    };
  }

  /** Convenience for writes that return nothing. */
  default void run(java.util.function.Consumer<Handle> work) {
    write(
        h -> {
          work.accept(h);
          return null;
        });
  }
}
