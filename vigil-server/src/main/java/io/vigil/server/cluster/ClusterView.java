package io.vigil.server.cluster;

import java.time.Duration;
import java.util.Map;

/**
 * What a node read of the shared state in one poll.
 *
 * @param lease the lease row
 * @param maintenance monitoring and automatic failover are paused for the role
 * @param roleFailed the role exceeded its failover limit and waits for an operator
 * @param moveTo a requested move: a node name, {@link #ANY_NODE}, or null
 * @param moveRequestedBy who asked for the move (for the history)
 * @param selfPaused this node is paused (takes no role)
 * @param selfDraining this node is being drained (gives its role away, then is paused)
 * @param liveNodes nodes with a recent heartbeat that are not paused, with how long each has been
 *     up
 * @param recentFailovers failovers recorded within the role's failover period
 * @param holdsLock whether this node holds the role's advisory lock after this poll's probe
 * @param exclusiveDatabase the database admits one node process at a time (embedded H2), so a lease
 *     held under this node's own name is a previous run of this node
 */
public record ClusterView(
    LeaseView lease,
    boolean maintenance,
    boolean roleFailed,
    NodeId moveTo,
    String moveRequestedBy,
    boolean selfPaused,
    boolean selfDraining,
    Map<NodeId, Duration> liveNodes,
    int recentFailovers,
    boolean holdsLock,
    boolean exclusiveDatabase) {

  public static final NodeId ANY_NODE = new NodeId("*");

  public ClusterView {
    liveNodes = Map.copyOf(liveNodes);
  }
}
