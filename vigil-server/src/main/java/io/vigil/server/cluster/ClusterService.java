package io.vigil.server.cluster;

import java.time.Instant;
import java.util.List;

/**
 * What operators can see and do with the cluster; the HTTP routes under {@code /api/v1/cluster} and
 * the {@code vigil cluster} commands are thin layers over this. Every node serves it, owner or not,
 * so that a cluster whose role has failed can still be inspected and reset.
 *
 * <p>Requests that change the cluster are recorded in the database and acted on by the owner's
 * failover controller within one poll interval; the methods return once the request is recorded,
 * not when it has taken effect (watch {@link #status()}).
 */
public interface ClusterService {

  /** Nodes, the role's owner and epoch, every resource's state, maintenance and pause flags. */
  ClusterStatus status();

  /** The most recent transitions first, and why each happened. */
  List<HistoryEntry> history(int limit);

  /** Turns maintenance on or off for the role. */
  void maintenance(boolean on, String by);

  /**
   * Asks the owner to hand the role to {@code toNode}, or to the most preferred other node when
   * null.
   *
   * @throws ClusterException 404 when the node is unknown, 409 when it is paused or down, or when
   *     the role is failed
   */
  void move(String toNode, String by);

  /** Pauses a node: it takes no role (it keeps one it has until drained or moved). */
  void pauseNode(String node, String by);

  /** Resumes a paused or drained node. */
  void resumeNode(String node, String by);

  /** Drains a node: its role moves away first, then it is paused. */
  void drainNode(String node, String by);

  /** Adds an operator-defined generic resource to the role. */
  void addResource(GenericResource.Definition definition, String by);

  /** Removes a generic resource; refused while other resources depend on it. */
  void removeResource(String name, String by);

  /**
   * Starts (with what it depends on) or stops (with what depends on it) a resource by hand.
   *
   * @throws ClusterException 409 unless the role is in maintenance
   */
  void startResource(String name, String by);

  void stopResource(String name, String by);

  /** Clears a failed role so that a node takes it again, and restarts the failover count. */
  void resetRole(String by);

  /** One row of the history. */
  record HistoryEntry(long id, Instant at, String node, String event, String reason) {
    /** This entry with commands' output in its reason {@linkplain CommandOutput#hide hidden}. */
    public HistoryEntry withCommandOutputHidden() {
      return new HistoryEntry(id, at, node, event, CommandOutput.hide(reason));
    }
  }

  /** A snapshot of the cluster as the API shows it. */
  record ClusterStatus(
      String role,
      String owner,
      String ownerUrl,
      long epoch,
      Instant ownerSince,
      boolean maintenance,
      boolean failed,
      String failedReason,
      String moveRequestedTo,
      List<NodeStatus> nodes,
      List<ResourceStatus> resources) {
    /**
     * This snapshot with commands' output {@linkplain CommandOutput#hide hidden} in the failed
     * reason and in every resource's last problem.
     */
    public ClusterStatus withCommandOutputHidden() {
      return new ClusterStatus(
          role,
          owner,
          ownerUrl,
          epoch,
          ownerSince,
          maintenance,
          failed,
          CommandOutput.hide(failedReason),
          moveRequestedTo,
          nodes,
          resources.stream().map(ResourceStatus::withCommandOutputHidden).toList());
    }
  }

  /**
   * @param state {@code active} (owns the role), {@code standby}, {@code ineligible} (up, but
   *     cannot take the role: see {@code problem}), {@code paused}, {@code draining} or {@code
   *     down} (no heartbeat within the liveness window)
   * @param problem why an ineligible node cannot take the role, or null
   */
  record NodeStatus(
      String name,
      String url,
      String state,
      Instant lastHeartbeat,
      Instant startedAt,
      boolean paused,
      boolean draining,
      String problem) {}

  /**
   * Every node's own check of whether it could take the role, newest check first per node, for
   * {@code vigil cluster validate}: run it before a failover, not after.
   */
  List<NodeValidation> validate();

  /**
   * One node's check.
   *
   * @param up whether the node has sent a heartbeat within the liveness window
   * @param eligible whether it can take the role (it can open the key ring)
   * @param problem why not, naming the cause and the fix
   * @param failoverWouldBreak what a failover to this node would break, empty when nothing
   * @param warnings what works now but not for long (certificates expiring within 30 days)
   * @param report the full check as the node published it
   */
  record NodeValidation(
      String node,
      String state,
      boolean up,
      Instant checkedAt,
      boolean eligible,
      String problem,
      List<String> failoverWouldBreak,
      List<String> warnings,
      com.fasterxml.jackson.databind.JsonNode report) {}

  /**
   * A resource of the role as the owner reports it.
   *
   * @param kind {@code builtin} or {@code generic}
   * @param state {@code stopped}, {@code starting}, {@code running} or {@code stopping}
   */
  record ResourceStatus(
      String name,
      String kind,
      List<String> dependsOn,
      String state,
      String node,
      Instant since,
      String lastProblem) {
    /**
     * This status with commands' output in its last problem {@linkplain CommandOutput#hide hidden}.
     */
    public ResourceStatus withCommandOutputHidden() {
      return new ResourceStatus(
          name, kind, dependsOn, state, node, since, CommandOutput.hide(lastProblem));
    }
  }
}
