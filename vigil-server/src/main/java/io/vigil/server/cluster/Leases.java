package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import java.sql.SQLException;

/**
 * One node's access to the role's lease, fencing epoch and advisory lock: what the controller's
 * database actions do. Every change is conditional on the lease being as the caller last saw it,
 * and the database's clock alone decides when a lease has expired. {@link LeaseStore} implements it
 * on H2 and PostgreSQL; the simulation of the failover controller implements it in memory, and one
 * contract test holds both to the same cases.
 */
interface Leases {

  /**
   * Reads the shared state; on a standby ({@code owner} false), probes the owner's advisory lock.
   *
   * @param heartbeat whether to record this node's heartbeat as well
   */
  ClusterView observe(boolean owner, boolean heartbeat, RolePolicy policy) throws SQLException;

  /**
   * Takes the lease by {@code mode} if it is still held by {@code seenOwner} at {@code seenEpoch};
   * the new owner is this node at {@code seenEpoch.next()}.
   *
   * @return the new epoch, or null when the lease had changed or {@code mode} does not apply
   */
  Epoch acquire(AcquireMode mode, NodeId seenOwner, Epoch seenEpoch) throws SQLException;

  /**
   * Extends the lease by its duration from now by the database's clock.
   *
   * @return false when the lease is no longer this node's at {@code epoch}
   */
  boolean renew(Epoch epoch) throws SQLException;

  /**
   * Gives the lease up if it is this node's at {@code epoch}, reserving it for {@code handoverTo}
   * (or nobody), and lets go of the lock.
   */
  void release(Epoch epoch, NodeId handoverTo) throws SQLException;

  /** Whether this node holds the advisory lock, as of its last statement. */
  boolean holdsLock();

  /** Lets go of the advisory lock. */
  void releaseLock();

  /**
   * Marks the role failed, only while the lease is still this node's at {@code epoch}.
   *
   * @return whether it was marked
   */
  boolean markRoleFailed(Epoch epoch, String reason) throws SQLException;

  /**
   * Clears a requested move, only while the lease is still this node's at {@code epoch}.
   *
   * @return whether it was cleared
   */
  boolean clearMove(Epoch epoch) throws SQLException;
}
