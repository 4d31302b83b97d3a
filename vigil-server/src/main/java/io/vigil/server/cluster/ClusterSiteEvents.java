package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.cluster.HistoryEvent.StepDownReason;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which transitions of the role in the cluster's history are also Vigil's own events, stored by the
 * event server (and so able to raise alarms): a pure mapping, with no database. The failover
 * controller raises them through the fence once the transition is recorded, so only the node that
 * holds the role stores them: the node that took the role over, or the owner giving up a failed
 * role.
 *
 * <ul>
 *   <li>{@code cluster.failover}: a node took the role because the previous owner's process ended
 *       or its lease expired.
 *   <li>{@code cluster.move}: a node took the role handed over to it (a move by an operator, or a
 *       drain).
 *   <li>{@code role.failed}: a resource failed once more after the role reached its failover limit,
 *       so the role is marked failed and no node runs it until an operator clears it.
 * </ul>
 *
 * The source of these events is the node's name as {@code node:<name>}.
 */
public final class ClusterSiteEvents {

  public static final String FAILOVER = "cluster.failover";
  public static final String MOVE = "cluster.move";
  public static final String ROLE_FAILED = "role.failed";

  private ClusterSiteEvents() {}

  /** A site event to raise. */
  public record SiteEvent(
      String type, String source, String severity, String message, Map<String, Object> data) {}

  /** The event source naming a node. */
  public static String source(NodeId node) {
    return "node:" + node.name();
  }

  /** The site event a history event recorded by node {@code me} stands for, if any. */
  public static Optional<SiteEvent> of(HistoryEvent e, NodeId me) {
    return switch (e) {
      case HistoryEvent.Acquired a -> acquired(a);
      case HistoryEvent.SteppingDown s
          when s.reason() instanceof StepDownReason.FailoverLimitReached f -> {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("node", me.name());
        data.put("resource", f.failure().resource());
        data.put("recentFailovers", f.recentFailovers());
        data.put("failoverLimit", f.failoverLimit());
        yield Optional.of(
            new SiteEvent(
                ROLE_FAILED,
                source(me),
                "critical",
                "The role is marked failed: " + HistoryText.reason(f),
                data));
      }
      default -> Optional.empty();
    };
  }

  private static Optional<SiteEvent> acquired(HistoryEvent.Acquired a) {
    boolean fromAnother = a.previousOwner() != null && !a.previousOwner().equals(a.node());
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("node", a.node().name());
    data.put("previousOwner", a.previousOwner() == null ? null : a.previousOwner().name());
    data.put("epoch", a.epoch().value());
    if (a.mode() == AcquireMode.HANDOVER) {
      return Optional.of(
          new SiteEvent(
              MOVE,
              source(a.node()),
              "info",
              a.node().name()
                  + " took the role handed over"
                  + (a.previousOwner() == null ? "" : " by " + a.previousOwner().name()),
              data));
    }
    if (fromAnother && (a.mode() == AcquireMode.DEAD_OWNER || a.mode() == AcquireMode.FREE)) {
      return Optional.of(
          new SiteEvent(
              FAILOVER,
              source(a.node()),
              "warning",
              a.node().name()
                  + " took the role over after "
                  + a.previousOwner().name()
                  + (a.mode() == AcquireMode.DEAD_OWNER ? " ended" : " stopped renewing its lease"),
              data));
    }
    return Optional.empty();
  }
}
