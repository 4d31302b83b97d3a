package io.vigil.server.cluster;

import io.vigil.server.cluster.HistoryEvent.Failure;
import io.vigil.server.cluster.HistoryEvent.LossCause;
import io.vigil.server.cluster.HistoryEvent.StepDownReason;
import java.time.Duration;

/**
 * The text of the cluster's history: the event name and the sentence stored for every {@link
 * HistoryEvent} (shown by {@code vigil cluster history} and the cluster API).
 */
public final class HistoryText {

  /** A history row's event name and reason. */
  public record Entry(String event, String reason) {}

  private HistoryText() {}

  public static Entry render(HistoryEvent e) {
    return switch (e) {
      case HistoryEvent.Acquired a ->
          new Entry(
              "acquired",
              a.node() + " took the role: " + takeover(a) + " (epoch " + a.epoch() + ")");
      case HistoryEvent.Lost l ->
          new Entry("lost", l.node() + " stopped acting as owner: " + loss(l.cause()));
      case HistoryEvent.SteppingDown s -> new Entry("stepping_down", reason(s.reason()));
      case HistoryEvent.Released r ->
          new Entry(
              "released",
              r.node()
                  + " released the role"
                  + (r.handoverTo() == null ? "" : " to " + r.handoverTo())
                  + ": "
                  + reason(r.reason()));
      case HistoryEvent.FailedOver f -> new Entry("failover", reason(f.reason()));
      case HistoryEvent.ResourceStarted s ->
          new Entry("resource_started", s.resource() + " started on " + s.node());
      case HistoryEvent.ResourceRestart r ->
          new Entry(
              "resource_restart",
              r.resource()
                  + " "
                  + failure(r.failure())
                  + "; restarting it in place ("
                  + r.restart()
                  + " of "
                  + r.limit()
                  + " within "
                  + human(r.period())
                  + ", in "
                  + r.delay().toMillis()
                  + " ms)");
      case HistoryEvent.ManualStartFailed f ->
          new Entry(
              "resource_failed",
              f.resource()
                  + " failed to start: "
                  + f.reason()
                  + "; maintenance is on, so it is not restarted (start it again by hand)");
      case HistoryEvent.ResourceStopFailed f ->
          new Entry(
              "resource_stop_failed",
              f.resource()
                  + " on "
                  + f.node()
                  + " may still run: "
                  + f.problem()
                  + "; stopping it again every "
                  + human(f.retryEvery())
                  + (f.keepsRole() ? ", and the role stays here until it has stopped" : ""));
      case HistoryEvent.ManualStart m ->
          new Entry("manual_start", m.resource() + " started by " + m.by());
      case HistoryEvent.ManualStop m ->
          new Entry("manual_stop", m.resource() + " stopped by " + m.by());
      case HistoryEvent.MoveDone m ->
          new Entry(
              "move_done", "the role is already on " + m.node() + " (requested by " + m.by() + ")");
      case HistoryEvent.MoveRefused m ->
          new Entry(
              "move_refused",
              "move requested by "
                  + m.by()
                  + " refused: "
                  + (m.target() == null
                      ? "no other node is up and unpaused"
                      : "node " + m.target() + " is not up or is paused"));
      case HistoryEvent.DrainWaiting d ->
          new Entry(
              "drain_waiting", d.node() + " is draining but no other node is up to take the role");
      case HistoryEvent.ControllerFailed f ->
          new Entry(
              "controller-failed",
              "the failover controller of "
                  + f.node()
                  + " cannot go on ("
                  + f.cause()
                  + "); "
                  + (f.resourcesStopped()
                      ? "its resources stopped"
                      : "a resource did not stop within " + f.stopBound().toMillis() + " ms")
                  + "; the process halts with exit code "
                  + f.exitCode());
    };
  }

  /** Why an owner gives the role up, as stored and as shown while it does. */
  public static String reason(StepDownReason r) {
    return switch (r) {
      case StepDownReason.ShuttingDown s -> "node " + s.node() + " is shutting down";
      case StepDownReason.RoleMarkedFailed f -> "the role is marked failed";
      case StepDownReason.Move m -> "move to " + m.target() + " requested by " + m.by();
      case StepDownReason.Drain d -> "node " + d.node() + " is being drained";
      case StepDownReason.Failback f -> "failback to preferred owner " + f.preferred();
      case StepDownReason.Failover f -> failover(f) + "; failing the role over";
      case StepDownReason.FailoverLimitReached l ->
          failover(l.failure())
              + "; the role failed over "
              + l.recentFailovers()
              + " times within "
              + human(l.failoverPeriod())
              + " (limit "
              + l.failoverLimit()
              + "), so it is marked failed and waits for an operator";
    };
  }

  private static String failover(StepDownReason.Failover f) {
    return f.resource()
        + " "
        + failure(f.failure())
        + "; it was restarted "
        + f.restartLimit()
        + " times within "
        + human(f.restartPeriod());
  }

  private static String failure(Failure f) {
    return switch (f) {
      case Failure.StartFailed s -> "failed to start: " + s.reason();
      case Failure.CheckFailed c -> "failed its check: " + c.problem();
      case Failure.CheckTimedOut t ->
          "did not answer its check within " + t.timeout().toMillis() + " ms";
    };
  }

  private static String takeover(HistoryEvent.Acquired a) {
    return switch (a.mode()) {
      case DEAD_OWNER ->
          "the process of "
              + (a.node().equals(a.previousOwner())
                  ? "a previous run of " + a.node()
                  : a.previousOwner().toString())
              + " ended (its lock was released and none of its sessions remain)";
      case OWN_PREVIOUS_RUN -> "the lease was held by a previous run of " + a.node();
      case HANDOVER -> "the role was handed over to " + a.node();
      case FREE ->
          a.previousOwner() == null
              ? (a.handoverTo() == null
                  ? "the role was free"
                  : "the role was handed to " + a.handoverTo() + ", which did not take it")
              : "the lease of " + a.previousOwner() + " expired";
    };
  }

  private static String loss(LossCause c) {
    return switch (c) {
      case LossCause.LeaseTaken t ->
          "the lease is now held by "
              + (t.owner() == null ? "no node (released)" : t.owner())
              + " at epoch "
              + t.epoch();
      case LossCause.RenewalRefused r -> "renewal failed: " + r.reason();
      case LossCause.WriteFenced f -> "a write was fenced: " + f.reason();
      case LossCause.RenewDeadlinePassed d ->
          "no successful lease renewal for "
              + d.since().toMillis()
              + " ms (deadline "
              + d.deadline().toMillis()
              + " ms); resources stop before the lease can expire";
    };
  }

  /** A duration as people write it: 5 s, 10 min, 1 h, 250 ms. */
  static String human(Duration d) {
    long s = d.toSeconds();
    if (s % 3600 == 0 && s >= 3600) {
      return s / 3600 + " h";
    }
    if (s % 60 == 0 && s >= 60) {
      return s / 60 + " min";
    }
    return d.toMillis() % 1000 == 0 ? s + " s" : d.toMillis() + " ms";
  }
}
