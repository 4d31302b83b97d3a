package io.vigil.server.cluster;

import java.time.Duration;

/** What the {@link RoleController} asks its driver to do. Each has a matching result event. */
public sealed interface ControllerAction {

  /**
   * Read the shared state (and, unless {@code asOwner}, probe the owner's lock). Answer: Observed.
   *
   * @param heartbeat also record this node's heartbeat
   * @param readResources also read the role's resource definitions (answered by a ResourcesChanged
   *     before the Observed when they changed)
   * @param requestsAfter also read the manual requests with a greater id; null for none
   */
  record Observe(boolean asOwner, boolean heartbeat, boolean readResources, Long requestsAfter)
      implements ControllerAction {}

  /** How a node may take the lease. */
  enum AcquireMode {
    /** The lease was released with no handover, or has expired by the database's clock. */
    FREE,
    /** The lease was handed to this node by a move or drain. */
    HANDOVER,
    /** The owner's lock is free: its process is gone, no need to wait for expiry. */
    DEAD_OWNER,
    /**
     * The lease is this node's own from a previous run, on a database only one process can open.
     */
    OWN_PREVIOUS_RUN
  }

  /**
   * Take the lease if it is still as last seen: owner {@code seenOwner} at {@code seenEpoch}. The
   * new epoch is {@code seenEpoch.next()}. Answer: Acquired or NotAcquired.
   */
  record Acquire(AcquireMode mode, NodeId seenOwner, Epoch seenEpoch) implements ControllerAction {}

  /** Extend the lease held at {@code epoch}. Answer: Renewed or RenewFailed. */
  record Renew(Epoch epoch) implements ControllerAction {}

  /**
   * Give the lease up (owner cleared, expiry now), reserving it for {@code handoverTo} when not
   * null, and let go of the lock. Answer: Released (also when the lease was already gone).
   */
  record Release(Epoch epoch, NodeId handoverTo) implements ControllerAction {}

  /** Let go of the advisory lock, which this node must not hold now. No answer. */
  record ReleaseLock() implements ControllerAction {}

  /**
   * Start a resource under {@code epoch}, failing it when it has not started {@code within}.
   * Answer: ResourceStarted or ResourceStartFailed.
   */
  record Start(String name, Epoch epoch, Duration within) implements ControllerAction {}

  /**
   * Stop a resource, giving up on it when it has not stopped {@code within} (its stop timeout and a
   * grace for its own handling of that timeout). Answer: ResourceStopped or ResourceStopFailed.
   */
  record Stop(String name, Duration within) implements ControllerAction {}

  /** Check a resource's health. Answer: CheckResult with the same seq. */
  record Check(String name, long seq) implements ControllerAction {}

  /**
   * Add an entry to the cluster's history of transitions ({@link HistoryText} gives its text); a
   * {@link HistoryEvent.FailedOver} counts against the role's failover limit. No answer.
   */
  @SuppressWarnings("AvoidCommonTypeNames") // always named ControllerAction.Record where it is used
  record Record(HistoryEvent event) implements ControllerAction {}

  /** Mark the role failed: no node takes it until an operator resets it. No answer. */
  record MarkRoleFailed(Epoch epoch, HistoryEvent.StepDownReason reason)
      implements ControllerAction {}

  /** The requested move is done or impossible; clear the request. No answer. */
  record ClearMove(Epoch epoch) implements ControllerAction {}

  /** This node finished draining: mark it paused. No answer. */
  record Drained() implements ControllerAction {}

  /** Everything is stopped and released after a Shutdown. No answer. */
  record ShutdownComplete() implements ControllerAction {}
}
