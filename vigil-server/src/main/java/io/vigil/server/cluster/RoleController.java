package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.cluster.ControllerEvent.Acquired;
import io.vigil.server.cluster.ControllerEvent.CheckResult;
import io.vigil.server.cluster.ControllerEvent.Fenced;
import io.vigil.server.cluster.ControllerEvent.NotAcquired;
import io.vigil.server.cluster.ControllerEvent.ObserveFailed;
import io.vigil.server.cluster.ControllerEvent.Observed;
import io.vigil.server.cluster.ControllerEvent.Released;
import io.vigil.server.cluster.ControllerEvent.RenewFailed;
import io.vigil.server.cluster.ControllerEvent.Renewed;
import io.vigil.server.cluster.ControllerEvent.ResourceStartFailed;
import io.vigil.server.cluster.ControllerEvent.ResourceStarted;
import io.vigil.server.cluster.ControllerEvent.ResourceStopFailed;
import io.vigil.server.cluster.ControllerEvent.ResourceStopped;
import io.vigil.server.cluster.ControllerEvent.ResourcesChanged;
import io.vigil.server.cluster.ControllerEvent.Shutdown;
import io.vigil.server.cluster.ControllerEvent.Tick;
import io.vigil.server.cluster.HistoryEvent.Failure;
import io.vigil.server.cluster.HistoryEvent.LossCause;
import io.vigil.server.cluster.HistoryEvent.StepDownReason;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The failover controller's decisions for one node and one role, as a deterministic state machine:
 * it is fed {@link ControllerEvent}s with the time of a monotonic clock and returns the {@link
 * ControllerAction}s to carry out. It does no I/O and reads no clock, so every race (a lease lost
 * mid-start, a flapping resource, two nodes racing for a free lease, an owner that wakes up after a
 * pause) is a plain unit test on a fake clock.
 *
 * <p>The rules, in short:
 *
 * <ul>
 *   <li>At most one database operation is outstanding; the owner renews every {@code renewInterval}
 *       and every node observes every {@code pollInterval}.
 *   <li>The owner considers itself deposed, and stops its resources, as soon as its last successful
 *       renewal was <em>sent</em> more than {@code renewDeadline} ago, as soon as a renewal or an
 *       observation shows another owner or epoch, and as soon as a write was fenced. Since the
 *       database computes expiry from the time it executed the renewal, which is after it was sent,
 *       and {@code renewDeadline < leaseDuration}, the owner is down before any other node can take
 *       a lease that expired.
 *   <li>A standby takes the lease only when its own resources are all stopped and the lease is
 *       free, expired, handed to it, or owned by a process whose advisory lock is free (the process
 *       ended). Less preferred nodes wait {@code preferenceStep} per better-ranked live node before
 *       taking a free lease.
 *   <li>Resources start in dependency order and stop in reverse; stopping one first stops its
 *       dependents. A failed check or start restarts the resource (and its dependents) in place up
 *       to its restart limit within its period, each restart waiting twice as long as the one
 *       before ({@link #restartDelay}); one more failure fails the role over. More than the role's
 *       failover limit within its period marks the role failed instead.
 *   <li>In maintenance nothing is started, stopped, checked or restarted automatically; only
 *       operators start and stop resources, and a manual start that fails leaves the resource
 *       stopped: no restart, no failover. The lease is still renewed and still taken over.
 *   <li>A planned move, drain, failback or shutdown stops the resources gracefully and releases the
 *       lease, reserving it for the target node for {@code handoverGrace}.
 * </ul>
 *
 * <p>Not thread-safe: one thread feeds it events.
 */
public final class RoleController {

  /** A resource's state on this node. */
  public enum ResourceState {
    STOPPED,
    STARTING,
    RUNNING,
    STOPPING,
    /**
     * Its stop failed and it could not be ended by force: it may still run. The stop is retried
     * every {@link RoleController#STOP_RETRY_DELAY}; until it succeeds the node keeps the lease if
     * it still has it, and takes none.
     */
    STOP_FAILED
  }

  /** A resource's state for status displays. */
  public record ResourceStatus(
      String name, ResourceState state, long sinceNanos, String lastProblem, int recentRestarts) {}

  /** What the controller shows of itself. */
  public record Status(
      boolean owner,
      long epoch,
      String steppingDown,
      List<ResourceStatus> resources,
      ClusterView lastView) {}

  private static final class Res {
    ResourceSpec spec;
    ResourceState state = ResourceState.STOPPED;
    long since;
    final Deque<Long> restarts = new ArrayDeque<>();
    long nextCheckAt;

    /** The check awaiting its answer, or null. */
    PendingCheck check;

    String lastProblem;

    /**
     * A resource restarted in place starts no earlier than this (restarts back off); a resource
     * whose stop failed is stopped again no earlier than this.
     */
    long notBefore = Long.MIN_VALUE;

    Res(ResourceSpec spec, long now) {
      this.spec = spec;
      this.since = now;
    }
  }

  /** A health check sent at {@code sentAt} whose answer carries {@code seq}. */
  private record PendingCheck(long seq, long sentAt) {}

  /**
   * Where this node is with the role. Only {@link Owner} and {@link SteppingDown} own it; an
   * acquisition and a release are phases of their own, so a node can never own the role while it
   * releases it, step down without owning it, or finish its shutdown while it may still get the
   * lease.
   */
  private sealed interface Phase {}

  /** Not the owner, and no acquisition or release in flight. */
  private record Standby() implements Phase {}

  /** An acquisition by {@code mode} of the lease as {@code seen} is in flight. */
  private record Acquiring(AcquireMode mode, LeaseView seen) implements Phase {}

  /**
   * The owner of the role at {@code epoch} since {@code since}.
   *
   * @param renewSentAt when the last successful renewal (or the acquisition) was sent
   * @param renewIssuedAt when the last renewal was sent, successful or not
   */
  private record Owner(Epoch epoch, long since, long renewSentAt, long renewIssuedAt)
      implements Phase {
    Owner renewed(long sentAt) {
      return new Owner(epoch, since, Math.max(renewSentAt, sentAt), renewIssuedAt);
    }

    Owner renewIssued(long at) {
      return new Owner(epoch, since, renewSentAt, at);
    }
  }

  /** Still the owner, stopping the resources to give the role up as {@code why} says. */
  private record SteppingDown(Owner term, StepDown why) implements Phase {}

  /** The release after a step down is in flight. */
  private record Releasing(StepDown why) implements Phase {}

  /** The shutdown is complete. */
  private record Stopped() implements Phase {}

  /**
   * Why and to whom the owner gives the role up. A failover counts against the role's limit; a
   * failover over the limit marks the role failed; a drain pauses the node once released.
   */
  private record StepDown(StepDownReason reason, NodeId handoverTo) {
    boolean failover() {
      return reason instanceof StepDownReason.Failover;
    }

    boolean markFailed() {
      return reason instanceof StepDownReason.FailoverLimitReached;
    }

    boolean drain() {
      return reason instanceof StepDownReason.Drain;
    }
  }

  private final NodeId me;
  private final ClusterTiming timing;
  private RolePolicy policy;
  private ResourceGraph graph;
  private final Map<String, Res> resources = new LinkedHashMap<>();
  private final Set<String> removed = new HashSet<>();

  private Phase phase = new Standby();
  private boolean dbBusy;
  private long lastObserveIssuedAt;
  private long lastHeartbeatAt;
  private long lastResourceReadAt;

  /** The id of the last manual request seen in this term, or -1 before the term's first read. */
  private long requestCursor = -1;

  private boolean viewFresh;
  private boolean placementFresh;
  private ClusterView view;
  private boolean wasMaintenance;
  private long backoffUntil = Long.MIN_VALUE;

  /** The free lease as last seen (owner, epoch, handover), and since when it looked so. */
  private LeaseView availableSeen;

  private long availableSince;
  private final Set<String> toStop = new HashSet<>();
  private final Set<String> manualWanted = new HashSet<>();

  /**
   * In maintenance, the dependents that a manual stop took down with the resource it named (their
   * key), and that resource (their value): starting it again by hand starts them after it, as
   * Pacemaker does for resources whose own target is still "started". A dependent the operator
   * stopped by name is not here, so it stays stopped.
   */
  private final Map<String, String> stoppedWith = new LinkedHashMap<>();

  private boolean shutdown;
  private boolean drainSignalled;
  private boolean drainWaitingRecorded;
  private long seq;

  public RoleController(
      NodeId me, ClusterTiming timing, RolePolicy policy, List<ResourceSpec> specs, long now) {
    this.me = Objects.requireNonNull(me);
    this.timing = timing;
    this.policy = policy;
    this.graph = new ResourceGraph(specs);
    for (ResourceSpec s : specs) {
      resources.put(s.name(), new Res(s, now));
    }
    this.lastObserveIssuedAt = now - timing.pollInterval().toNanos();
    this.lastHeartbeatAt = now - timing.renewInterval().toNanos();
    this.lastResourceReadAt = now - RESOURCE_READ_INTERVAL.toNanos();
  }

  public void policy(RolePolicy policy) {
    this.policy = policy;
  }

  /** Applies {@code event} at monotonic time {@code now} (nanoseconds) and returns what to do. */
  public List<ControllerAction> handle(ControllerEvent event, long now) {
    List<ControllerAction> out = new ArrayList<>();
    apply(event, now, out);
    decide(now, out);
    return out;
  }

  public boolean isOwner() {
    return term() != null;
  }

  /** The epoch of this node's term as the owner, or {@link Epoch#NONE} when it is not the owner. */
  public Epoch epoch() {
    Owner t = term();
    return t == null ? Epoch.NONE : t.epoch();
  }

  /** The current term as the owner, also while stepping down; null when not the owner. */
  private Owner term() {
    return switch (phase) {
      case Owner o -> o;
      case SteppingDown s -> s.term();
      default -> null;
    };
  }

  /** The step down under way (also while releasing), or null. */
  private StepDown stepDown() {
    return switch (phase) {
      case SteppingDown s -> s.why();
      case Releasing r -> r.why();
      default -> null;
    };
  }

  /** Replaces the term's data, keeping the phase. */
  private void term(Owner t) {
    phase = phase instanceof SteppingDown s ? new SteppingDown(t, s.why()) : t;
  }

  /** Starts stepping down from the current term. */
  private void stepDown(StepDown why, List<ControllerAction> out) {
    phase = new SteppingDown(term(), why);
    out.add(new ControllerAction.Record(new HistoryEvent.SteppingDown(why.reason())));
  }

  /**
   * The monotonic time until which this node may act as the owner: its last renewal's send time
   * plus the renew deadline, or {@link Long#MIN_VALUE} when it is not the owner. Request handlers
   * compare this with the clock themselves, so a node that wakes from a pause answers as a standby
   * before its controller thread has run.
   */
  public long ownerUntil() {
    Owner t = term();
    return t != null ? t.renewSentAt() + timing.renewDeadline().toNanos() : Long.MIN_VALUE;
  }

  public ResourceState state(String resource) {
    return resources.get(resource).state;
  }

  public boolean isShutdownComplete() {
    return phase instanceof Stopped;
  }

  public Status status() {
    List<ResourceStatus> list = new ArrayList<>();
    for (String n : graph.order()) {
      Res r = resources.get(n);
      list.add(new ResourceStatus(n, r.state, r.since, r.lastProblem, r.restarts.size()));
    }
    StepDown s = stepDown();
    return new Status(
        isOwner(), epoch().value(), s == null ? null : HistoryText.reason(s.reason()), list, view);
  }

  // ---------------------------------------------------------------- events

  private void apply(ControllerEvent event, long now, List<ControllerAction> out) {
    switch (event) {
      case Tick t -> {}
      case Observed o -> {
        dbBusy = false;
        manualRequests(o.requests(), out);
        view = o.view();
        viewFresh = true;
        placementFresh = true;
        LeaseView lease = view.lease();
        Owner t = term();
        if (t != null && (!me.equals(lease.owner()) || !lease.epoch().equals(t.epoch()))) {
          lose(out, new LossCause.LeaseTaken(lease.owner(), lease.epoch()));
        }
        if (view.maintenance() != wasMaintenance) {
          manualWanted.clear();
          stoppedWith.clear();
          if (view.maintenance()) {
            // Hands off: whatever runs now keeps running, nothing else starts by itself.
            resources.values().stream()
                .filter(r -> r.state == ResourceState.RUNNING || r.state == ResourceState.STARTING)
                .forEach(r -> manualWanted.add(r.spec.name()));
          } else {
            resources.values().forEach(r -> r.nextCheckAt = now);
          }
          wasMaintenance = view.maintenance();
        }
      }
      case ObserveFailed f -> dbBusy = false;
      case Acquired a -> {
        dbBusy = false;
        if (phase instanceof Acquiring q) {
          out.add(
              new ControllerAction.Record(
                  new HistoryEvent.Acquired(
                      me, a.epoch(), q.mode(), q.seen().owner(), q.seen().handoverTo())));
        }
        phase = new Owner(a.epoch(), now, a.sentAtNanos(), a.sentAtNanos());
        requestCursor = -1;
        backoffUntil = Long.MIN_VALUE;
        toStop.clear();
        if (shutdown) {
          // Told to shut down while the acquisition was in flight: give the role up at once.
          shutdownStepDown(out);
        }
      }
      case NotAcquired n -> {
        dbBusy = false;
        if (phase instanceof Acquiring) {
          phase = new Standby();
        }
      }
      case Renewed r -> {
        dbBusy = false;
        Owner t = term();
        if (t != null) {
          term(t.renewed(r.sentAtNanos()));
        }
      }
      case RenewFailed f -> {
        dbBusy = false;
        if (isOwner() && f.lost()) {
          lose(out, new LossCause.RenewalRefused(f.reason()));
        }
      }
      case Released r -> {
        dbBusy = false;
        if (phase instanceof Releasing rel && rel.why().drain()) {
          out.add(new ControllerAction.Drained());
          drainSignalled = true;
        }
        if (phase instanceof Releasing) {
          phase = new Standby();
        }
      }
      case Fenced f -> {
        if (isOwner()) {
          lose(out, new LossCause.WriteFenced(f.reason()));
        }
      }
      case ResourceStarted s -> {
        Res r = resources.get(s.name());
        if (r != null && r.state == ResourceState.STARTING) {
          r.state = ResourceState.RUNNING;
          r.since = now;
          r.nextCheckAt = now + r.spec.policy().checkInterval().toNanos();
          r.check = null;
          out.add(new ControllerAction.Record(new HistoryEvent.ResourceStarted(s.name(), me)));
        }
      }
      case ResourceStartFailed s -> {
        Res r = resources.get(s.name());
        if (r != null && r.state == ResourceState.STARTING) {
          r.state = ResourceState.STOPPED;
          r.since = now;
          r.lastProblem = s.reason();
          if (phase instanceof Owner && !shutdown && maintenance()) {
            // Maintenance promises no automatic action: no restart, no failover.
            manualWanted.removeAll(graph.withDependents(s.name()));
            out.add(
                new ControllerAction.Record(
                    new HistoryEvent.ManualStartFailed(s.name(), s.reason())));
          } else if (phase instanceof Owner && !shutdown) {
            failure(now, out, s.name(), new Failure.StartFailed(s.reason()));
          }
        }
      }
      case ResourceStopped s -> {
        Res r = resources.get(s.name());
        if (r != null) {
          r.state = ResourceState.STOPPED;
          r.since = now;
          r.check = null;
          if (s.problem() != null) {
            r.lastProblem = s.problem();
          }
          if (removed.remove(s.name())) {
            resources.remove(s.name());
            graph = new ResourceGraph(resources.values().stream().map(x -> x.spec).toList());
          }
        }
      }
      case ResourceStopFailed s -> {
        Res r = resources.get(s.name());
        if (r != null && r.state == ResourceState.STOPPING) {
          r.state = ResourceState.STOP_FAILED;
          r.since = now;
          r.check = null;
          r.lastProblem = s.problem();
          r.notBefore = now + STOP_RETRY_DELAY.toNanos();
          out.add(
              new ControllerAction.Record(
                  new HistoryEvent.ResourceStopFailed(
                      s.name(), me, s.problem(), STOP_RETRY_DELAY, isOwner())));
        }
      }
      case CheckResult c -> {
        Res r = resources.get(c.name());
        if (r != null && r.check != null && c.seq() == r.check.seq()) {
          r.check = null;
          r.nextCheckAt = now + r.spec.policy().checkInterval().toNanos();
          if (c.problem() != null
              && phase instanceof Owner
              && !maintenance()
              && r.state == ResourceState.RUNNING) {
            r.lastProblem = c.problem();
            failure(now, out, c.name(), new Failure.CheckFailed(c.problem()));
          }
        }
      }
      case ResourcesChanged c -> changeResources(c.resources(), now);
      case Shutdown s -> {
        shutdown = true;
        if (phase instanceof Owner) {
          shutdownStepDown(out);
        }
      }
    }
  }

  private void shutdownStepDown(List<ControllerAction> out) {
    stepDown(new StepDown(new StepDownReason.ShuttingDown(me), bestOtherNode()), out);
  }

  /**
   * Carries out the operators' requests made while this node owns the role, once each. The first
   * read of a term only finds where they stand: what was asked before this node took the role was
   * for another term, and is not carried out now.
   */
  private void manualRequests(List<ManualRequest> requests, List<ControllerAction> out) {
    for (ManualRequest m : requests) {
      if (requestCursor >= 0 && m.id() > requestCursor) {
        manualRequest(m, out);
      }
      requestCursor = Math.max(requestCursor, m.id());
    }
    if (requestCursor < 0 && isOwner()) {
      requestCursor = 0;
    }
  }

  private void manualRequest(ManualRequest m, List<ControllerAction> out) {
    if (!isOwner() || !graph.contains(m.resource())) {
      return;
    }
    if (m.start()) {
      Set<String> wanted = new HashSet<>(graph.withDependencies(m.resource()));
      // The dependents stopped only because this (or one of its dependencies) was stopped by hand
      // come back after it.
      boolean more = true;
      while (more) {
        more = false;
        for (var e : List.copyOf(stoppedWith.entrySet())) {
          if (wanted.contains(e.getValue()) && graph.contains(e.getKey())) {
            wanted.addAll(graph.withDependencies(e.getKey()));
            stoppedWith.remove(e.getKey());
            more = true;
          }
        }
      }
      manualWanted.addAll(wanted);
      toStop.removeAll(wanted);
      out.add(new ControllerAction.Record(new HistoryEvent.ManualStart(m.resource(), m.by())));
    } else {
      Set<String> stopping = graph.withDependents(m.resource());
      stoppedWith.remove(m.resource());
      for (String d : stopping) {
        Res r = resources.get(d);
        boolean up =
            manualWanted.contains(d)
                || (r != null
                    && (r.state == ResourceState.RUNNING || r.state == ResourceState.STARTING));
        if (!d.equals(m.resource()) && up && !toStop.contains(d)) {
          stoppedWith.putIfAbsent(d, m.resource());
        }
      }
      manualWanted.removeAll(stopping);
      toStop.addAll(stopping);
      out.add(new ControllerAction.Record(new HistoryEvent.ManualStop(m.resource(), m.by())));
    }
  }

  private void changeResources(List<ResourceSpec> specs, long now) {
    ResourceGraph next = new ResourceGraph(specs);
    Set<String> names = new HashSet<>();
    for (ResourceSpec s : specs) {
      names.add(s.name());
      Res r = resources.get(s.name());
      if (r == null) {
        resources.put(s.name(), new Res(s, now));
      } else {
        r.spec = s;
      }
      removed.remove(s.name());
    }
    for (Res r : List.copyOf(resources.values())) {
      String n = r.spec.name();
      if (!names.contains(n)) {
        if (r.state == ResourceState.STOPPED) {
          resources.remove(n);
        } else {
          removed.add(n);
          toStop.add(n);
        }
      }
    }
    // Resources being removed stay in the graph until stopped, so their dependents stop first.
    List<ResourceSpec> all = new ArrayList<>(specs);
    for (String n : removed) {
      all.add(resources.get(n).spec);
    }
    graph = removed.isEmpty() ? next : new ResourceGraph(all);
  }

  /** How often the role's resource definitions are read. */
  static final Duration RESOURCE_READ_INTERVAL = Duration.ofSeconds(1);

  /**
   * How much longer than its stop timeout a stop may take before the node gives up on it: the
   * resource handles its own timeout first (a generic resource ends an overrunning command).
   */
  static final Duration STOP_GRACE = Duration.ofSeconds(2);

  /** How long a resource whose stop failed waits before it is stopped again. */
  static final Duration STOP_RETRY_DELAY = Duration.ofSeconds(5);

  /** The first restart in place waits this long; each further one twice as long. */
  static final Duration FIRST_RESTART_DELAY = Duration.ofMillis(500);

  /** No restart in place waits longer than this. */
  static final Duration MAX_RESTART_DELAY = Duration.ofSeconds(30);

  /** How long the {@code n}th recent restart of a resource waits: 0.5 s, 1 s, 2 s, … up to 30 s. */
  static long restartDelay(int n) {
    long delay = FIRST_RESTART_DELAY.toNanos() << Math.min(Math.max(n - 1, 0), 16);
    return Math.min(delay, MAX_RESTART_DELAY.toNanos());
  }

  /** A resource failed: restart it in place if its policy allows, else fail the role over. */
  private void failure(long now, List<ControllerAction> out, String name, Failure why) {
    Res r = resources.get(name);
    ResourcePolicy p = r.spec.policy();
    long window = p.restartPeriod().toNanos();
    while (!r.restarts.isEmpty() && now - r.restarts.peekFirst() > window) {
      r.restarts.removeFirst();
    }
    if (r.restarts.size() < p.restartLimit()) {
      r.restarts.addLast(now);
      long delay = restartDelay(r.restarts.size());
      r.notBefore = now + delay;
      toStop.addAll(graph.withDependents(name));
      out.add(
          new ControllerAction.Record(
              new HistoryEvent.ResourceRestart(
                  name,
                  why,
                  r.restarts.size(),
                  p.restartLimit(),
                  p.restartPeriod(),
                  Duration.ofNanos(delay))));
    } else {
      failover(out, new StepDownReason.Failover(name, why, p.restartLimit(), p.restartPeriod()));
    }
  }

  private void failover(List<ControllerAction> out, StepDownReason.Failover reason) {
    if (!(phase instanceof Owner)) {
      return;
    }
    int recent = view == null ? 0 : view.recentFailovers();
    if (recent + 1 > policy.failoverLimit()) {
      stepDown(
          new StepDown(
              new StepDownReason.FailoverLimitReached(
                  reason, recent, policy.failoverPeriod(), policy.failoverLimit()),
              null),
          out);
    } else {
      stepDown(new StepDown(reason, bestOtherNode()), out);
    }
  }

  /** Ownership is gone (or cannot be proven): stop everything now. */
  private void lose(List<ControllerAction> out, LossCause cause) {
    phase = new Standby();
    manualWanted.clear();
    stoppedWith.clear();
    for (Res r : resources.values()) {
      if (r.state != ResourceState.STOPPED) {
        toStop.add(r.spec.name());
      }
    }
    // The lock stays held until the resources have stopped: while it is held no standby may
    // conclude that this process is gone.
    out.add(new ControllerAction.Record(new HistoryEvent.Lost(me, cause)));
  }

  // ---------------------------------------------------------------- decisions

  private void decide(long now, List<ControllerAction> out) {
    Owner t = term();
    if (t != null && now - t.renewSentAt() > timing.renewDeadline().toNanos()) {
      lose(
          out,
          new LossCause.RenewDeadlinePassed(
              Duration.ofNanos(now - t.renewSentAt()), timing.renewDeadline()));
    }
    if (phase instanceof Owner && view != null && placementFresh) {
      placementFresh = false;
      placement(out);
    }
    if (!isOwner()
        && !(phase instanceof Releasing)
        && view != null
        && view.selfDraining()
        && !drainSignalled) {
      out.add(new ControllerAction.Drained());
      drainSignalled = true;
    }
    if (view != null && !view.selfDraining()) {
      drainSignalled = false;
    }
    resourceActions(now, out);
    databaseActions(now, out);
    if (shutdown && phase instanceof Standby && allStopped()) {
      phase = new Stopped();
      out.add(new ControllerAction.ShutdownComplete());
    }
  }

  /** Moves, drains, failback and a failed role, seen from the owner. */
  private void placement(List<ControllerAction> out) {
    if (view.roleFailed()) {
      stepDown(new StepDown(new StepDownReason.RoleMarkedFailed(), null), out);
      return;
    }
    if (view.moveTo() != null) {
      NodeId target = ClusterView.ANY_NODE.equals(view.moveTo()) ? bestOtherNode() : view.moveTo();
      String by = view.moveRequestedBy() == null ? "an operator" : view.moveRequestedBy();
      if (me.equals(target)) {
        out.add(new ControllerAction.ClearMove(epoch()));
        out.add(new ControllerAction.Record(new HistoryEvent.MoveDone(me, by)));
      } else if (target == null || !view.liveNodes().containsKey(target)) {
        out.add(new ControllerAction.ClearMove(epoch()));
        out.add(new ControllerAction.Record(new HistoryEvent.MoveRefused(by, target)));
      } else {
        stepDown(new StepDown(new StepDownReason.Move(target, by), target), out);
      }
      return;
    }
    if (view.selfDraining()) {
      NodeId target = bestOtherNode();
      if (target == null) {
        if (!drainWaitingRecorded) {
          drainWaitingRecorded = true;
          out.add(new ControllerAction.Record(new HistoryEvent.DrainWaiting(me)));
        }
      } else {
        drainWaitingRecorded = false;
        stepDown(new StepDown(new StepDownReason.Drain(me), target), out);
      }
      return;
    }
    if (policy.failback()) {
      int myRank = rank(me);
      for (String name : policy.preferredOwners()) {
        NodeId preferred = new NodeId(name);
        if (rank(preferred) >= myRank) {
          break;
        }
        Duration up = view.liveNodes().get(preferred);
        if (up != null && up.compareTo(policy.failbackDelay()) >= 0) {
          stepDown(new StepDown(new StepDownReason.Failback(preferred), preferred), out);
          return;
        }
      }
    }
  }

  private void resourceActions(long now, List<ControllerAction> out) {
    boolean mustStopAll =
        !(phase instanceof Owner) || shutdown || (view != null && view.roleFailed());
    List<String> order = graph.order();
    // Stops, dependents first.
    for (int i = order.size() - 1; i >= 0; i--) {
      String n = order.get(i);
      Res r = resources.get(n);
      if (r.state == ResourceState.STOP_FAILED && now >= r.notBefore) {
        r.state = ResourceState.STOPPING;
        r.since = now;
        out.add(stop(r));
        continue;
      }
      if (r.state != ResourceState.RUNNING) {
        continue;
      }
      if ((mustStopAll || toStop.contains(n)) && dependentsStopped(n)) {
        r.state = ResourceState.STOPPING;
        r.since = now;
        r.check = null;
        out.add(stop(r));
      }
    }
    if (!toStop.isEmpty()
        && toStop.stream()
            .allMatch(
                n ->
                    !resources.containsKey(n) || resources.get(n).state == ResourceState.STOPPED)) {
      toStop.clear();
    }
    // Starts, dependencies first.
    if (!mustStopAll) {
      for (String n : order) {
        Res r = resources.get(n);
        if (r.state != ResourceState.STOPPED || toStop.contains(n) || removed.contains(n)) {
          continue;
        }
        if (maintenance() && !manualWanted.contains(n)) {
          continue;
        }
        if (now < r.notBefore && !manualWanted.contains(n)) {
          continue;
        }
        if (graph.spec(n).dependsOn().stream()
            .allMatch(d -> resources.get(d).state == ResourceState.RUNNING)) {
          r.state = ResourceState.STARTING;
          r.since = now;
          out.add(new ControllerAction.Start(n, epoch(), r.spec.policy().startTimeout()));
        }
      }
    }
    // Checks.
    if (phase instanceof Owner && !maintenance()) {
      for (String n : order) {
        Res r = resources.get(n);
        if (r.state != ResourceState.RUNNING || toStop.contains(n)) {
          continue;
        }
        ResourcePolicy p = r.spec.policy();
        if (r.check != null) {
          if (now - r.check.sentAt() > p.checkTimeout().toNanos()) {
            r.check = null;
            r.nextCheckAt = now + p.checkInterval().toNanos();
            r.lastProblem = "no answer to its check within " + p.checkTimeout().toMillis() + " ms";
            failure(now, out, n, new Failure.CheckTimedOut(p.checkTimeout()));
            if (!(phase instanceof Owner)) {
              return;
            }
          }
        } else if (now >= r.nextCheckAt) {
          r.check = new PendingCheck(++seq, now);
          out.add(new ControllerAction.Check(n, r.check.seq()));
        }
      }
    }
  }

  private void databaseActions(long now, List<ControllerAction> out) {
    if (dbBusy) {
      return;
    }
    if (phase instanceof SteppingDown sd && allStopped()) {
      StepDown s = sd.why();
      Epoch epoch = sd.term().epoch();
      if (s.markFailed()) {
        out.add(new ControllerAction.MarkRoleFailed(epoch, s.reason()));
      }
      if (s.failover()) {
        out.add(new ControllerAction.Record(new HistoryEvent.FailedOver(s.reason())));
        backoffUntil = now + timing.failoverBackoff().toNanos();
      }
      if (view != null && view.moveTo() != null) {
        out.add(new ControllerAction.ClearMove(epoch));
      }
      out.add(
          new ControllerAction.Record(new HistoryEvent.Released(me, s.handoverTo(), s.reason())));
      out.add(new ControllerAction.Release(epoch, s.handoverTo()));
      phase = new Releasing(s);
      dbBusy = true;
      return;
    }
    Owner t = term();
    if (t != null && now - t.renewIssuedAt() >= timing.renewInterval().toNanos()) {
      out.add(new ControllerAction.Renew(t.epoch()));
      term(t.renewIssued(now));
      dbBusy = true;
      return;
    }
    if ((phase instanceof Standby || phase instanceof Stopped) && viewFresh) {
      ControllerAction acquire = acquisition(now, out);
      viewFresh = false;
      if (acquire != null) {
        out.add(acquire);
        dbBusy = true;
        return;
      }
    }
    if (now - lastObserveIssuedAt >= timing.pollInterval().toNanos()) {
      // Heartbeats twice per renew interval; the resource definitions once a second.
      boolean heartbeat = now - lastHeartbeatAt >= timing.renewInterval().toNanos() / 2;
      if (heartbeat) {
        lastHeartbeatAt = now;
      }
      boolean readResources = now - lastResourceReadAt >= RESOURCE_READ_INTERVAL.toNanos();
      if (readResources) {
        lastResourceReadAt = now;
      }
      out.add(
          new ControllerAction.Observe(
              isOwner(), heartbeat, readResources, isOwner() ? requestCursor : null));
      lastObserveIssuedAt = now;
      dbBusy = true;
    }
  }

  /** Whether and how a standby takes the lease, judged on a fresh view. */
  private ControllerAction acquisition(long now, List<ControllerAction> out) {
    LeaseView lease = view.lease();
    boolean eligible =
        !shutdown
            && !view.selfPaused()
            && !view.selfDraining()
            && !view.roleFailed()
            && allStopped();
    if (!eligible) {
      if (view.holdsLock() && allStopped()) {
        out.add(new ControllerAction.ReleaseLock());
      }
      return null;
    }
    boolean available = lease.owner() == null || lease.expired();
    if (!available) {
      // A free lock only says the owner's lock session ended; that can happen while the owner
      // lives (a terminated backend, a database restart). Only proof that its process is gone
      // lets a standby skip the lease.
      if (lease.ownerHasLock() && view.holdsLock() && lease.ownerGone()) {
        return acquire(AcquireMode.DEAD_OWNER, lease);
      }
      if (me.equals(lease.owner()) && view.exclusiveDatabase()) {
        return acquire(AcquireMode.OWN_PREVIOUS_RUN, lease);
      }
      if (view.holdsLock()) {
        // The owner is alive but does not hold the lock yet; it must be able to take it.
        out.add(new ControllerAction.ReleaseLock());
      }
      availableSeen = null;
      return null;
    }
    LeaseView seen =
        new LeaseView(lease.owner(), lease.epoch(), true, lease.handoverTo(), false, false);
    if (!seen.equals(availableSeen)) {
      availableSeen = seen;
      availableSince = now;
    }
    NodeId handover = lease.handoverTo();
    if (handover != null) {
      if (me.equals(handover)) {
        return acquire(AcquireMode.HANDOVER, lease);
      }
      boolean targetUp = view.liveNodes().containsKey(handover);
      if (targetUp && now - availableSince < timing.handoverGrace().toNanos()) {
        return null;
      }
    }
    boolean othersUp = view.liveNodes().keySet().stream().anyMatch(n -> !n.equals(me));
    if (othersUp && now < backoffUntil) {
      return null;
    }
    long better =
        view.liveNodes().keySet().stream().filter(n -> !n.equals(me) && rank(n) < rank(me)).count();
    if (now - availableSince < better * timing.preferenceStep().toNanos()) {
      return null;
    }
    return acquire(AcquireMode.FREE, lease);
  }

  private ControllerAction acquire(AcquireMode mode, LeaseView lease) {
    phase = new Acquiring(mode, lease);
    return new ControllerAction.Acquire(mode, lease.owner(), lease.epoch());
  }

  private int rank(NodeId n) {
    return policy.rank(n.name());
  }

  /** The most preferred live node other than this one, or null. */
  private NodeId bestOtherNode() {
    if (view == null) {
      return null;
    }
    return view.liveNodes().keySet().stream()
        .filter(n -> !n.equals(me))
        .min(Comparator.comparingInt(this::rank).thenComparing(n -> n))
        .orElse(null);
  }

  private static ControllerAction stop(Res r) {
    return new ControllerAction.Stop(r.spec.name(), r.spec.policy().stopTimeout().plus(STOP_GRACE));
  }

  private boolean dependentsStopped(String name) {
    for (String d : graph.directDependents(name)) {
      if (resources.get(d).state != ResourceState.STOPPED) {
        return false;
      }
    }
    return true;
  }

  private boolean allStopped() {
    return resources.values().stream().allMatch(r -> r.state == ResourceState.STOPPED);
  }

  private boolean maintenance() {
    return view != null && view.maintenance();
  }
}
