package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import java.time.Duration;

/**
 * A transition of the role that the {@link RoleController} records in the cluster's history, as
 * data. {@link HistoryText} turns it into the stored event name and text.
 */
public sealed interface HistoryEvent {

  /**
   * {@code node} took the role at {@code epoch} by {@code mode}, having seen the lease held by
   * {@code previousOwner} (null when released) and reserved for {@code handoverTo} (or null).
   */
  record Acquired(
      NodeId node, Epoch epoch, AcquireMode mode, NodeId previousOwner, NodeId handoverTo)
      implements HistoryEvent {}

  /** {@code node} stopped acting as owner. */
  record Lost(NodeId node, LossCause cause) implements HistoryEvent {}

  /** {@code node} starts giving the role up. */
  record SteppingDown(StepDownReason reason) implements HistoryEvent {}

  /** {@code node} released the role, reserving it for {@code handoverTo} (or null). */
  record Released(NodeId node, NodeId handoverTo, StepDownReason reason) implements HistoryEvent {}

  /** The role failed over; these are what the role's failover limit counts. */
  record FailedOver(StepDownReason reason) implements HistoryEvent {}

  record ResourceStarted(String resource, NodeId node) implements HistoryEvent {}

  /** A resource failed and is restarted in place: the {@code restart}th of {@code limit}. */
  record ResourceRestart(
      String resource, Failure failure, int restart, int limit, Duration period, Duration delay)
      implements HistoryEvent {}

  /** A resource started by hand in maintenance failed to start; nothing more is done. */
  record ManualStartFailed(String resource, String reason) implements HistoryEvent {}

  /** A resource's stop failed; it may still run and is stopped again every {@code retryEvery}. */
  record ResourceStopFailed(
      String resource, NodeId node, String problem, Duration retryEvery, boolean keepsRole)
      implements HistoryEvent {}

  record ManualStart(String resource, String by) implements HistoryEvent {}

  record ManualStop(String resource, String by) implements HistoryEvent {}

  /** A move to the node that already owns the role. */
  record MoveDone(NodeId node, String by) implements HistoryEvent {}

  /** A move refused: {@code target} is not up or paused, or null when no other node is up. */
  record MoveRefused(String by, NodeId target) implements HistoryEvent {}

  /** {@code node} is draining but no other node is up to take the role. */
  record DrainWaiting(NodeId node) implements HistoryEvent {}

  /** The failover controller of {@code node} cannot go on and halts the process. */
  record ControllerFailed(
      NodeId node, String cause, boolean resourcesStopped, Duration stopBound, int exitCode)
      implements HistoryEvent {}

  /** Why an owner stopped acting as owner. */
  sealed interface LossCause {
    /** An observation found the lease held by {@code owner} (null: released) at {@code epoch}. */
    record LeaseTaken(NodeId owner, Epoch epoch) implements LossCause {}

    /** A renewal found the lease no longer this node's. */
    record RenewalRefused(String reason) implements LossCause {}

    /** A write of the role was fenced. */
    record WriteFenced(String reason) implements LossCause {}

    /** No renewal succeeded for {@code since}, longer than the renew {@code deadline}. */
    record RenewDeadlinePassed(Duration since, Duration deadline) implements LossCause {}
  }

  /** Why a resource failed. */
  sealed interface Failure {
    record StartFailed(String reason) implements Failure {}

    record CheckFailed(String problem) implements Failure {}

    record CheckTimedOut(Duration timeout) implements Failure {}
  }

  /** Why an owner gives the role up. */
  sealed interface StepDownReason {
    record ShuttingDown(NodeId node) implements StepDownReason {}

    record RoleMarkedFailed() implements StepDownReason {}

    record Move(NodeId target, String by) implements StepDownReason {}

    record Drain(NodeId node) implements StepDownReason {}

    record Failback(NodeId preferred) implements StepDownReason {}

    /**
     * {@code resource} failed once more after {@code restartLimit} restarts within {@code
     * restartPeriod}.
     */
    record Failover(String resource, Failure failure, int restartLimit, Duration restartPeriod)
        implements StepDownReason {}

    /**
     * As {@link Failover}, but the role already failed over {@code recentFailovers} times within
     * {@code failoverPeriod}, its limit {@code failoverLimit}: it is marked failed.
     */
    record FailoverLimitReached(
        Failover failure, int recentFailovers, Duration failoverPeriod, int failoverLimit)
        implements StepDownReason {}
  }
}
