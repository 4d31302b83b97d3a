package io.vigil.server.cluster;

import java.util.List;

/**
 * What the {@link RoleController} is told: time passing, what the node read, what its actions did.
 */
public sealed interface ControllerEvent {

  /** Time has passed; nothing else happened. */
  record Tick() implements ControllerEvent {}

  /**
   * The result of an {@link ControllerAction.Observe}.
   *
   * @param requests the manual requests it asked for, oldest first
   */
  record Observed(ClusterView view, List<ManualRequest> requests) implements ControllerEvent {
    public Observed {
      requests = List.copyOf(requests);
    }

    public Observed(ClusterView view) {
      this(view, List.of());
    }
  }

  /** A read of the shared state failed (database unreachable, timeout). */
  record ObserveFailed(String reason) implements ControllerEvent {}

  /**
   * An {@link ControllerAction.Acquire} succeeded.
   *
   * @param sentAtNanos when the acquiring statement was sent (monotonic): the lease is valid until
   *     at least this plus the lease duration
   */
  record Acquired(Epoch epoch, long sentAtNanos, boolean withLock) implements ControllerEvent {}

  /** An {@link ControllerAction.Acquire} found the lease taken or changed. */
  record NotAcquired(String reason) implements ControllerEvent {}

  /** A renewal sent at {@code sentAtNanos} succeeded. */
  record Renewed(long sentAtNanos, boolean withLock) implements ControllerEvent {}

  /**
   * A renewal failed.
   *
   * @param lost the lease row names another owner or epoch: ownership is certainly gone
   */
  record RenewFailed(boolean lost, String reason) implements ControllerEvent {}

  /** The lease was released (a step down finished). */
  record Released() implements ControllerEvent {}

  /** A write of this node's resources found the epoch moved on: another node owns the role. */
  record Fenced(String reason) implements ControllerEvent {}

  record ResourceStarted(String name) implements ControllerEvent {}

  record ResourceStartFailed(String name, String reason) implements ControllerEvent {}

  record ResourceStopped(String name, String problem) implements ControllerEvent {}

  /**
   * A stop failed or timed out, and ending the resource by force could not establish that nothing
   * of it runs any more.
   */
  record ResourceStopFailed(String name, String problem) implements ControllerEvent {}

  /**
   * A health check's answer.
   *
   * @param seq the sequence number of the {@link ControllerAction.Check} it answers
   * @param problem null when healthy
   */
  record CheckResult(String name, long seq, String problem) implements ControllerEvent {}

  /** The role's resources changed (a generic resource was added or removed). */
  record ResourcesChanged(List<ResourceSpec> resources) implements ControllerEvent {}

  /** The node is shutting down: stop everything, release the lease, then stop. */
  record Shutdown() implements ControllerEvent {}
}
