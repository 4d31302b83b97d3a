package io.vigil.server.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * A deterministic simulation of nodes running {@link RoleController}s against one shared database,
 * on one fake clock (the database's clock and every node's monotonic clock advance together). It
 * plays the driver's part: it carries out actions with latencies, implements the lease's
 * conditional updates and the advisory lock as the real database does, and can crash, pause and cut
 * off nodes. Tests use it scripted or randomised, and check safety after every step.
 */
final class SimulatedCluster {

  static final long MS = 1_000_000L;

  /** The shared database. */
  static final class Db {
    String owner;
    long epoch;
    long expiresAt = Long.MIN_VALUE;
    String handoverTo;
    boolean ownerHasLock;
    String lockHolder;
    boolean maintenance;
    boolean roleFailed;
    String moveTo;
    final List<Long> failovers = new ArrayList<>();
    final Set<String> paused = new HashSet<>();
    final Set<String> draining = new HashSet<>();
    final List<String> history = new ArrayList<>();
    boolean exclusive;

    /** Nodes with a database session open now. */
    final Set<String> sessions = new HashSet<>();

    /** When the owner's last renewal (or acquisition) executed. */
    long renewedAt = Long.MIN_VALUE;

    long restartedAt = Long.MIN_VALUE;

    /** When each node's lock session was opened (its probe reconnects after a restart). */
    final Map<String, Long> lockSessionSince = new HashMap<>();
  }

  /** One simulated node process. */
  final class Node {
    final String name;
    RoleController controller;
    boolean crashed;
    long pausedUntil = Long.MIN_VALUE;
    long cutUntil = Long.MIN_VALUE;
    long startedAt;
    final Map<String, Boolean> healthy = new HashMap<>();
    final Set<String> failStart = new HashSet<>();

    /** Resources whose stops fail and whose processes keep running. */
    final Set<String> failStop = new HashSet<>();

    /** Resources whose start/stop the test holds until released. */
    final Set<String> holdStart = new HashSet<>();

    final Map<String, Long> running = new LinkedHashMap<>();
    final List<String> log = new ArrayList<>();

    /** When each resource's starts were asked for, in order. */
    final Map<String, List<Long>> startTimes = new HashMap<>();

    Node(String name) {
      this.name = name;
    }

    boolean paused() {
      return now < pausedUntil;
    }

    boolean cut() {
      return now < cutUntil;
    }

    boolean activeOwner() {
      return !crashed && controller.isOwner() && now < controller.ownerUntil();
    }
  }

  /** A result due at {@code at}; computed then, as the database executes a statement on arrival. */
  private record Pending(
      long at, long order, Node node, int incarnation, Supplier<ControllerEvent> op) {}

  final Db db = new Db();
  final Map<String, Node> nodes = new LinkedHashMap<>();
  final ClusterTiming timing;
  final RolePolicy policy;
  final List<ResourceSpec> specs;
  final Random random;
  long now = 1_000_000_000_000L;
  private long order;
  private final Map<String, Integer> incarnations = new HashMap<>();
  private final PriorityQueue<Pending> pending =
      new PriorityQueue<>(
          (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));

  /** Most simultaneous active owners ever seen; safety requires at most 1. */
  int maxActiveOwners;

  /**
   * Most nodes ever running resources while the role was also running on another node under a valid
   * lease.
   */
  final List<String> violations = new ArrayList<>();

  long dbLatencyMaxMs = 5;
  long resourceDelayMaxMs = 50;

  SimulatedCluster(long seed, ClusterTiming timing, RolePolicy policy, List<ResourceSpec> specs) {
    this.random = new Random(seed);
    this.timing = timing;
    this.policy = policy;
    this.specs = specs;
  }

  static List<ResourceSpec> standardResources(ResourcePolicy policy) {
    return List.of(
        new ResourceSpec("client-access-point", List.of(), policy),
        new ResourceSpec("identity-provider", List.of("client-access-point"), policy),
        new ResourceSpec("management-server", List.of("identity-provider"), policy));
  }

  Node start(String name) {
    Node n = nodes.computeIfAbsent(name, Node::new);
    n.crashed = false;
    n.pausedUntil = Long.MIN_VALUE;
    n.cutUntil = Long.MIN_VALUE;
    n.running.clear();
    n.startedAt = now;
    incarnations.merge(name, 1, Integer::sum);
    n.controller = new RoleController(new NodeId(name), timing, policy, specs, now);
    feed(n, new ControllerEvent.Tick());
    return n;
  }

  Node node(String name) {
    return nodes.get(name);
  }

  /** kill -9: the process is gone, its database session (and lock) with it. */
  void crash(String name) {
    Node n = nodes.get(name);
    n.crashed = true;
    n.running.clear();
    db.sessions.remove(name);
    db.lockSessionSince.remove(name);
    if (name.equals(db.lockHolder)) {
      db.lockHolder = null;
    }
    incarnations.merge(name, 1, Integer::sum);
  }

  /**
   * The node's lock session ends while its process lives ({@code pg_terminate_backend}, the lock
   * connection's socket timeout): the lock is free, but the node keeps its other sessions.
   */
  void loseLock(String name) {
    if (name.equals(db.lockHolder)) {
      db.lockHolder = null;
    }
  }

  /**
   * The database server restarts (a crash-restart after one backend was killed): every session
   * ends, so the lock is free and no node has a session until its next statement.
   */
  void restartDatabase() {
    db.lockHolder = null;
    db.sessions.clear();
    db.restartedAt = now;
  }

  /** SIGSTOP for {@code ms}: nothing runs, the session and lock stay. */
  void pause(String name, long ms) {
    nodes.get(name).pausedUntil = now + ms * MS;
  }

  /** The node's link to the database is silent for {@code ms}. */
  void cut(String name, long ms) {
    nodes.get(name).cutUntil = now + ms * MS;
  }

  void advance(long ms) {
    long end = now + ms * MS;
    long tick = 10 * MS;
    while (now < end) {
      long next = Math.min(end, now + tick);
      while (!pending.isEmpty() && pending.peek().at <= next) {
        Pending p = pending.poll();
        now = Math.max(now, p.at);
        deliver(p);
      }
      now = next;
      for (Node n : nodes.values()) {
        if (!n.crashed && !n.paused()) {
          feed(n, new ControllerEvent.Tick());
        }
      }
      checkSafety();
    }
  }

  private void deliver(Pending p) {
    Node n = p.node;
    if (n.crashed || incarnations.get(n.name) != p.incarnation) {
      return;
    }
    ControllerEvent event = p.op.get();
    if (n.paused()) {
      // The process is stopped: the result waits until it runs again.
      pending.add(new Pending(n.pausedUntil, order++, n, p.incarnation, () -> event));
      return;
    }
    feed(n, event);
  }

  void feed(Node n, ControllerEvent event) {
    List<ControllerAction> actions = n.controller.handle(event, now);
    for (ControllerAction a : actions) {
      carryOut(n, a);
    }
  }

  private void later(Node n, long delayNanos, ControllerEvent event) {
    pending.add(new Pending(now + delayNanos, order++, n, incarnations.get(n.name), () -> event));
  }

  private long dbLatency() {
    return (1 + random.nextInt((int) dbLatencyMaxMs)) * MS / 2;
  }

  private void carryOut(Node n, ControllerAction action) {
    switch (action) {
      case ControllerAction.Observe o ->
          dbOp(n, () -> new ControllerEvent.Observed(view(n)), "observe");
      case ControllerAction.Acquire a -> {
        long sent = now;
        dbOp(n, () -> acquire(n, a, sent), "acquire");
      }
      case ControllerAction.Renew r -> {
        long sent = now;
        dbOp(n, () -> renew(n, r.epoch(), sent), "renew");
      }
      case ControllerAction.Release r -> dbOp(n, () -> release(n, r), "release");
      case ControllerAction.ReleaseLock r -> {
        if (n.name.equals(db.lockHolder)) {
          db.lockHolder = null;
        }
      }
      case ControllerAction.Start s -> {
        n.startTimes.computeIfAbsent(s.name(), k -> new ArrayList<>()).add(now);
        if (n.holdStart.contains(s.name())) {
          return;
        }
        long d = (1 + random.nextInt((int) resourceDelayMaxMs)) * MS;
        if (n.failStart.contains(s.name())) {
          later(n, d, new ControllerEvent.ResourceStartFailed(s.name(), "simulated start failure"));
        } else {
          n.running.put(s.name(), now);
          later(n, d, new ControllerEvent.ResourceStarted(s.name()));
        }
      }
      case ControllerAction.Stop s -> {
        long d = (1 + random.nextInt((int) resourceDelayMaxMs)) * MS;
        if (n.failStop.contains(s.name())) {
          later(n, d, new ControllerEvent.ResourceStopFailed(s.name(), "simulated stop failure"));
          return;
        }
        n.running.remove(s.name());
        later(n, d, new ControllerEvent.ResourceStopped(s.name(), null));
      }
      case ControllerAction.Check c -> {
        boolean ok = n.healthy.getOrDefault(c.name(), true);
        later(
            n,
            2 * MS,
            new ControllerEvent.CheckResult(c.name(), c.seq(), ok ? null : "simulated failure"));
      }
      case ControllerAction.Record r -> {
        HistoryText.Entry e = HistoryText.render(r.event());
        db.history.add(n.name + " " + e.event() + ": " + e.reason());
        n.log.add(e.event());
        if (r.event() instanceof HistoryEvent.FailedOver) {
          db.failovers.add(now);
        }
      }
      case ControllerAction.MarkRoleFailed f -> {
        if (ownsAt(n, f.epoch())) {
          db.roleFailed = true;
        }
      }
      case ControllerAction.ClearMove c -> {
        if (ownsAt(n, c.epoch())) {
          db.moveTo = null;
        }
      }
      case ControllerAction.Drained d -> {
        db.draining.remove(n.name);
        db.paused.add(n.name);
      }
      case ControllerAction.ShutdownComplete s -> n.log.add("shutdown-complete");
    }
  }

  /** Runs a database operation: after a latency, or after a 1 s timeout while the link is cut. */
  private void dbOp(Node n, Supplier<ControllerEvent> op, String what) {
    if (n.cut()) {
      later(n, 1000 * MS, failure(what));
      return;
    }
    pending.add(
        new Pending(
            now + dbLatency(),
            order++,
            n,
            incarnations.get(n.name),
            () -> {
              if (n.cut()) {
                return failure(what);
              }
              db.sessions.add(n.name);
              return op.get();
            }));
  }

  private static ControllerEvent failure(String what) {
    return switch (what) {
      case "renew" -> new ControllerEvent.RenewFailed(false, "database unreachable");
      case "acquire" -> new ControllerEvent.NotAcquired("database unreachable");
      case "release" -> new ControllerEvent.Released();
      default -> new ControllerEvent.ObserveFailed("database unreachable");
    };
  }

  private ClusterView view(Node n) {
    long since = db.lockSessionSince.computeIfAbsent(n.name, k -> now);
    if (db.restartedAt > since) {
      db.lockSessionSince.put(n.name, now);
    }
    boolean ownerGone = false;
    if (db.ownerHasLock
        && db.lockHolder == null
        && !n.name.equals(db.owner)
        && !db.paused.contains(n.name)) {
      db.lockHolder = n.name;
      // The real store's proof: the owner renewed after this node's lock session opened, and no
      // session of the owner's process remains.
      ownerGone = db.renewedAt > db.lockSessionSince.get(n.name) && !db.sessions.contains(db.owner);
    }
    Map<NodeId, Duration> live = new LinkedHashMap<>();
    for (Node other : nodes.values()) {
      if (!other.crashed && !db.paused.contains(other.name)) {
        live.put(new NodeId(other.name), Duration.ofNanos(now - other.startedAt));
      }
    }
    long recent =
        db.failovers.stream().filter(t -> now - t <= policy.failoverPeriod().toNanos()).count();
    return new ClusterView(
        new LeaseView(
            NodeId.of(db.owner),
            new Epoch(db.epoch),
            db.owner == null || db.expiresAt < now,
            NodeId.of(db.handoverTo),
            db.ownerHasLock,
            ownerGone),
        db.maintenance,
        db.roleFailed,
        NodeId.of(db.moveTo),
        "tester",
        db.paused.contains(n.name),
        db.draining.contains(n.name),
        live,
        (int) recent,
        n.name.equals(db.lockHolder),
        db.exclusive);
  }

  private ControllerEvent acquire(Node n, ControllerAction.Acquire a, long sent) {
    boolean same =
        java.util.Objects.equals(db.owner, NodeId.nameOf(a.seenOwner()))
            && db.epoch == a.seenEpoch().value();
    boolean ok =
        same
            && switch (a.mode()) {
              case FREE -> db.owner == null || db.expiresAt < now;
              case HANDOVER -> db.owner == null && n.name.equals(db.handoverTo);
              case DEAD_OWNER -> db.ownerHasLock && n.name.equals(db.lockHolder);
              case OWN_PREVIOUS_RUN -> db.exclusive && n.name.equals(db.owner);
            };
    if (!ok) {
      return new ControllerEvent.NotAcquired("lease changed");
    }
    if (db.lockHolder == null) {
      db.lockHolder = n.name;
    }
    db.owner = n.name;
    db.epoch++;
    db.expiresAt = now + timing.leaseDuration().toNanos();
    db.handoverTo = null;
    db.ownerHasLock = n.name.equals(db.lockHolder);
    db.renewedAt = now;
    return new ControllerEvent.Acquired(new Epoch(db.epoch), sent, db.ownerHasLock);
  }

  private ControllerEvent renew(Node n, Epoch epoch, long sent) {
    if (!n.name.equals(db.owner) || db.epoch != epoch.value()) {
      return new ControllerEvent.RenewFailed(
          true, "lease held by " + db.owner + " at epoch " + db.epoch);
    }
    if (db.lockHolder == null) {
      db.lockHolder = n.name;
    }
    db.ownerHasLock = n.name.equals(db.lockHolder);
    db.expiresAt = now + timing.leaseDuration().toNanos();
    db.renewedAt = now;
    return new ControllerEvent.Renewed(sent, db.ownerHasLock);
  }

  private ControllerEvent release(Node n, ControllerAction.Release r) {
    if (n.name.equals(db.owner) && db.epoch == r.epoch().value()) {
      db.owner = null;
      db.expiresAt = now;
      db.handoverTo = NodeId.nameOf(r.handoverTo());
      db.ownerHasLock = false;
    }
    if (n.name.equals(db.lockHolder)) {
      db.lockHolder = null;
    }
    return new ControllerEvent.Released();
  }

  /** The store's guard on late bookkeeping: the lease is still the node's at that epoch. */
  private boolean ownsAt(Node n, Epoch epoch) {
    return n.name.equals(db.owner) && db.epoch == epoch.value();
  }

  private void checkSafety() {
    int active = 0;
    List<String> who = new ArrayList<>();
    for (Node n : nodes.values()) {
      if (n.activeOwner()) {
        active++;
        who.add(n.name);
      }
    }
    maxActiveOwners = Math.max(maxActiveOwners, active);
    if (active > 1) {
      violations.add("two active owners at " + (now / MS) + " ms: " + who);
    }
    // Resources of a stopped (SIGSTOP) process are frozen with it and cannot act; fencing covers
    // them, and a process that wakes up stops them first thing (allowed the time its stops take).
    // Every other node must have stopped its resources before another node starts any.
    List<String> runningOn = new ArrayList<>();
    for (Node n : nodes.values()) {
      boolean justWoke =
          n.pausedUntil != Long.MIN_VALUE && now - n.pausedUntil < 4 * resourceDelayMaxMs * MS;
      if (!n.crashed && !n.paused() && !justWoke && !n.running.isEmpty()) {
        runningOn.add(n.name + n.running.keySet());
      }
    }
    if (runningOn.size() > 1) {
      violations.add("resources running on two nodes at " + (now / MS) + " ms: " + runningOn);
    }
  }

  /** The node that owns the role now with every resource running, or null. */
  String runningOwner() {
    for (Node n : nodes.values()) {
      if (n.activeOwner()
          && specs.stream()
              .allMatch(
                  s -> n.controller.state(s.name()) == RoleController.ResourceState.RUNNING)) {
        return n.name;
      }
    }
    return null;
  }
}
