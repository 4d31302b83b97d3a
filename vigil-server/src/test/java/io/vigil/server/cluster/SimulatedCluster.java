package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A deterministic simulation of nodes running {@link RoleController}s against one shared database,
 * on one fake clock. The database's clock is the simulation's time; every node has a monotonic
 * clock of its own, which may start anywhere and run faster or slower ({@link #skewClock}). It
 * plays the driver's part: it carries out actions with latencies through each node's {@link Leases}
 * on the in-memory database ({@link Db}, held to the same contract as the real store), and can
 * crash, stop (SIGSTOP), pause only the JVM of, and cut off nodes, end their lock sessions, restart
 * the database and slow resource stops down. Tests use it scripted or randomised, and check safety
 * after every 10 ms step.
 */
final class SimulatedCluster {

  static final long MS = 1_000_000L;

  /**
   * The shared database in memory: the lease row, the advisory lock, the role's and the nodes'
   * rows. Times are the database clock's; a lease has expired when the database clock passed its
   * expiry, whatever the nodes' clocks say.
   */
  static final class Db {
    final ClusterTiming timing;
    final LongSupplier clock;
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
    final List<ManualRequest> requests = new ArrayList<>();
    boolean exclusive;

    /** Registered node processes that are up, with when they started. */
    final Map<String, Long> processes = new LinkedHashMap<>();

    /** Nodes with a database session open now. */
    final Set<String> sessions = new HashSet<>();

    /** Nodes whose lock connection cannot get the lock now (its session keeps being ended). */
    final Set<String> lockBroken = new HashSet<>();

    /** When the owner's last renewal (or acquisition) executed. */
    long renewedAt = Long.MIN_VALUE;

    long restartedAt = Long.MIN_VALUE;

    /** When each node's lock session was opened (its probe reconnects after a restart). */
    final Map<String, Long> lockSessionSince = new HashMap<>();

    /**
     * @param clock the database's clock (nanoseconds)
     */
    Db(ClusterTiming timing, LongSupplier clock) {
      this.timing = timing;
      this.clock = clock;
    }

    /** An operator asks for a resource to be started or stopped by hand. */
    void request(boolean start, String resource, String by) {
      requests.add(new ManualRequest(requests.size() + 1, start, resource, by));
    }

    List<ManualRequest> requestsAfter(long id) {
      return requests.stream().filter(m -> m.id() > id).toList();
    }

    /** What {@code node} does with the lease. */
    NodeLeases leases(String node) {
      return new NodeLeases(node);
    }

    private boolean tryLock(String node) {
      if (lockHolder == null && !lockBroken.contains(node)) {
        lockHolder = node;
      }
      return node.equals(lockHolder);
    }

    /** One node's statements on the database; each opens a session of that node. */
    final class NodeLeases implements Leases {
      private final String me;

      NodeLeases(String me) {
        this.me = me;
      }

      @Override
      public ClusterView observe(boolean owner, boolean heartbeat, RolePolicy policy) {
        long now = clock.getAsLong();
        sessions.add(me);
        long since = lockSessionSince.computeIfAbsent(me, k -> now);
        if (restartedAt > since) {
          lockSessionSince.put(me, now);
        }
        boolean ownerGone = false;
        boolean probed = false;
        if (!owner
            && ownerHasLock
            && lockHolder == null
            && !me.equals(Db.this.owner)
            && !paused.contains(me)) {
          probed = tryLock(me);
          // The real store's proof: the owner renewed after this node's lock session opened, and
          // no session of the owner's process remains.
          ownerGone =
              probed && renewedAt > lockSessionSince.get(me) && !sessions.contains(Db.this.owner);
        }
        Map<NodeId, Duration> live = new LinkedHashMap<>();
        for (Map.Entry<String, Long> p : processes.entrySet()) {
          if (!paused.contains(p.getKey())) {
            live.put(new NodeId(p.getKey()), Duration.ofNanos(now - p.getValue()));
          }
        }
        long recent =
            failovers.stream().filter(t -> now - t <= policy.failoverPeriod().toNanos()).count();
        return new ClusterView(
            new LeaseView(
                NodeId.of(Db.this.owner),
                new Epoch(epoch),
                Db.this.owner == null || expiresAt < now,
                NodeId.of(handoverTo),
                ownerHasLock,
                ownerGone),
            maintenance,
            roleFailed,
            NodeId.of(moveTo),
            "tester",
            paused.contains(me),
            draining.contains(me),
            live,
            (int) recent,
            me.equals(lockHolder),
            exclusive);
      }

      @Override
      public Epoch acquire(AcquireMode mode, NodeId seenOwner, Epoch seenEpoch) {
        long now = clock.getAsLong();
        sessions.add(me);
        boolean lock = tryLock(me);
        boolean same =
            Objects.equals(Db.this.owner, NodeId.nameOf(seenOwner)) && epoch == seenEpoch.value();
        boolean ok =
            same
                && switch (mode) {
                  case FREE -> Db.this.owner == null || expiresAt < now;
                  case HANDOVER -> Db.this.owner == null && me.equals(handoverTo);
                  case DEAD_OWNER -> ownerHasLock && lock;
                  case OWN_PREVIOUS_RUN -> exclusive && me.equals(Db.this.owner);
                };
        if (!ok) {
          return null;
        }
        Db.this.owner = me;
        epoch++;
        expiresAt = now + timing.leaseDuration().toNanos();
        handoverTo = null;
        ownerHasLock = lock;
        renewedAt = now;
        return new Epoch(epoch);
      }

      @Override
      public boolean renew(Epoch e) {
        long now = clock.getAsLong();
        sessions.add(me);
        if (!me.equals(Db.this.owner) || epoch != e.value()) {
          return false;
        }
        ownerHasLock = tryLock(me);
        expiresAt = now + timing.leaseDuration().toNanos();
        renewedAt = now;
        return true;
      }

      @Override
      public void release(Epoch e, NodeId to) {
        sessions.add(me);
        if (me.equals(Db.this.owner) && epoch == e.value()) {
          Db.this.owner = null;
          expiresAt = clock.getAsLong();
          handoverTo = NodeId.nameOf(to);
          ownerHasLock = false;
        }
        releaseLock();
      }

      @Override
      public boolean holdsLock() {
        return me.equals(lockHolder);
      }

      @Override
      public void releaseLock() {
        if (me.equals(lockHolder)) {
          lockHolder = null;
        }
      }

      @Override
      public boolean markRoleFailed(Epoch e, String reason) {
        sessions.add(me);
        if (ownsAt(e)) {
          roleFailed = true;
          return true;
        }
        return false;
      }

      @Override
      public boolean clearMove(Epoch e) {
        sessions.add(me);
        if (ownsAt(e)) {
          moveTo = null;
          return true;
        }
        return false;
      }

      /** The store's guard on late bookkeeping: the lease is still this node's at that epoch. */
      private boolean ownsAt(Epoch e) {
        return me.equals(Db.this.owner) && epoch == e.value();
      }
    }
  }

  /** One simulated node process. */
  final class Node {
    final String name;
    final Db.NodeLeases leases;
    RoleController controller;
    boolean crashed;
    long pausedUntil = Long.MIN_VALUE;
    long jvmPausedUntil = Long.MIN_VALUE;
    long cutUntil = Long.MIN_VALUE;

    /** This node's monotonic clock: {@code clockOrigin + (db time - start) * clockRate}. */
    long clockOrigin = START;

    double clockRate = 1.0;

    /**
     * The dead man's switch's deadline on this node's clock, armed after every step of an owner as
     * the real controller arms it: when it passes, what the resources started is ended, also while
     * the JVM is paused.
     */
    long switchDeadline = Long.MAX_VALUE;

    final Map<String, Boolean> healthy = new HashMap<>();
    final Set<String> failStart = new HashSet<>();

    /** Resources whose stops fail and whose processes keep running. */
    final Set<String> failStop = new HashSet<>();

    /** Resources whose starts the test holds until released. */
    final Set<String> holdStart = new HashSet<>();

    /** Resources whose stops take this long (milliseconds); they run until the stop ends. */
    final Map<String, Long> stopMillis = new HashMap<>();

    /** Resources whose slow stop is under way. */
    final Set<String> slowStopping = new HashSet<>();

    final Map<String, Long> running = new LinkedHashMap<>();
    final List<String> log = new ArrayList<>();

    /** Every action this node's controller asked for, with the database time it did. */
    final List<Map.Entry<Long, ControllerAction>> actions = new ArrayList<>();

    /** When each resource's starts were asked for, in order. */
    final Map<String, List<Long>> startTimes = new HashMap<>();

    Node(String name) {
      this.name = name;
      this.leases = db.leases(name);
    }

    boolean paused() {
      return now < pausedUntil;
    }

    boolean jvmPaused() {
      return now < jvmPausedUntil;
    }

    /** Whether nothing of the controller runs: the process or only its JVM is stopped. */
    boolean frozen() {
      return paused() || jvmPaused();
    }

    boolean cut() {
      return now < cutUntil;
    }

    /** This node's monotonic clock now. */
    long clock() {
      return clockOrigin + (long) ((now - START) * clockRate);
    }

    /** Whether the node answers as the active node now, by its own clock. */
    boolean activeOwner() {
      return !crashed && controller.isOwner() && clock() < controller.ownerUntil();
    }

    /** The actions asked for at or after database time {@code at}. */
    List<ControllerAction> actionsSince(long at) {
      return actions.stream().filter(e -> e.getKey() >= at).map(Map.Entry::getValue).toList();
    }
  }

  /** A result due at {@code at}; computed then, as the database executes a statement on arrival. */
  private record Pending(
      long at, long order, Node node, int incarnation, Supplier<ControllerEvent> op) {}

  static final long START = 1_000_000_000_000L;

  long now = START;
  final Db db;
  final Map<String, Node> nodes = new LinkedHashMap<>();
  final ClusterTiming timing;
  final RolePolicy policy;
  final List<ResourceSpec> specs;
  final Random random;
  private long order;
  private final Map<String, Integer> incarnations = new HashMap<>();
  private final PriorityQueue<Pending> pending =
      new PriorityQueue<>(
          (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.order, b.order));

  /** Most simultaneous active owners ever seen; safety requires at most 1. */
  int maxActiveOwners;

  /** Every breach of safety seen: two active owners, or resources running on two nodes. */
  final List<String> violations = new ArrayList<>();

  /**
   * Resources that run outside the JVM (generic resources): they keep running while only the JVM is
   * paused, until the dead man's switch ends them.
   */
  final Set<String> external = new HashSet<>();

  long dbLatencyMaxMs = 5;
  long resourceDelayMaxMs = 50;

  SimulatedCluster(long seed, ClusterTiming timing, RolePolicy policy, List<ResourceSpec> specs) {
    this.random = new Random(seed);
    this.timing = timing;
    this.policy = policy;
    this.specs = specs;
    this.db = new Db(timing, () -> now);
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
    n.jvmPausedUntil = Long.MIN_VALUE;
    n.cutUntil = Long.MIN_VALUE;
    n.switchDeadline = Long.MAX_VALUE;
    n.running.clear();
    n.slowStopping.clear();
    db.processes.put(name, now);
    incarnations.merge(name, 1, Integer::sum);
    n.controller = new RoleController(new NodeId(name), timing, policy, specs, n.clock());
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
    db.processes.remove(name);
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
   * The node's lock session ends now and every one it opens for {@code ms} ends too, while the
   * process and its other sessions live: the node cannot hold the lock meanwhile.
   */
  void breakLock(String name, long ms) {
    loseLock(name);
    db.lockBroken.add(name);
    pending.add(
        new Pending(
            now + ms * MS,
            order++,
            null,
            0,
            () -> {
              db.lockBroken.remove(name);
              return null;
            }));
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

  /** SIGSTOP for {@code ms}: nothing of the process runs, its resources neither. */
  void pause(String name, long ms) {
    nodes.get(name).pausedUntil = now + ms * MS;
  }

  /**
   * Only the JVM stops for {@code ms} (a long garbage collection, a stalled safepoint): the
   * controller gets no event, but what the resources started outside the JVM keeps running until
   * the dead man's switch ends it.
   */
  void pauseJvm(String name, long ms) {
    nodes.get(name).jvmPausedUntil = now + ms * MS;
  }

  /** The node's link to the database is silent for {@code ms}. */
  void cut(String name, long ms) {
    nodes.get(name).cutUntil = now + ms * MS;
  }

  /**
   * From now on the node's monotonic clock runs {@code rate} times as fast as the database's and
   * reads {@code origin} now. A fresh controller must be started for a jump of the origin: a
   * monotonic clock never jumps under a running process.
   */
  void skewClock(String name, long origin, double rate) {
    Node n =
        nodes.computeIfAbsent(
            name,
            k -> {
              Node fresh = new Node(k);
              fresh.crashed = true; // not started yet
              return fresh;
            });
    n.clockOrigin = origin - (long) ((now - START) * rate);
    n.clockRate = rate;
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
        if (!n.crashed && !n.paused() && n.clock() >= n.switchDeadline) {
          // The dead man's switch fires, also while only the JVM is paused.
          n.running.keySet().removeAll(external);
          n.switchDeadline = Long.MAX_VALUE;
        }
        if (!n.crashed && !n.frozen()) {
          feed(n, new ControllerEvent.Tick());
        }
      }
      checkSafety();
    }
  }

  private void deliver(Pending p) {
    Node n = p.node;
    if (n == null) {
      p.op.get();
      return;
    }
    if (n.crashed || incarnations.get(n.name) != p.incarnation) {
      return;
    }
    ControllerEvent event = p.op.get();
    if (n.frozen()) {
      // The statement ran or the resource acted, but the controller sees the result only when it
      // runs again.
      long at = Math.max(n.pausedUntil, n.jvmPausedUntil);
      pending.add(new Pending(at, order++, n, p.incarnation, () -> event));
      return;
    }
    feed(n, event);
  }

  void feed(Node n, ControllerEvent event) {
    List<ControllerAction> actions = n.controller.handle(event, n.clock());
    // As the real controller does after every step: arm the switch while the node owns the role.
    if (n.controller.isOwner()) {
      n.switchDeadline = n.controller.ownerUntil();
    }
    for (ControllerAction a : actions) {
      n.actions.add(Map.entry(now, a));
      carryOut(n, a);
    }
  }

  private void later(Node n, long delayNanos, Supplier<ControllerEvent> event) {
    pending.add(new Pending(now + delayNanos, order++, n, incarnations.get(n.name), event));
  }

  private long dbLatency() {
    return (1 + random.nextInt((int) dbLatencyMaxMs)) * MS / 2;
  }

  private long resourceDelay() {
    return (1 + random.nextInt((int) resourceDelayMaxMs)) * MS;
  }

  private void carryOut(Node n, ControllerAction action) {
    Db.NodeLeases leases = n.leases;
    switch (action) {
      case ControllerAction.Observe o ->
          dbOp(
              n,
              () ->
                  new ControllerEvent.Observed(
                      leases.observe(o.asOwner(), o.heartbeat(), policy),
                      o.requestsAfter() == null ? List.of() : db.requestsAfter(o.requestsAfter())),
              "observe");
      case ControllerAction.Acquire a -> {
        long sent = n.clock();
        dbOp(
            n,
            () -> {
              Epoch e = leases.acquire(a.mode(), a.seenOwner(), a.seenEpoch());
              return e == null
                  ? new ControllerEvent.NotAcquired("lease changed")
                  : new ControllerEvent.Acquired(e, sent, leases.holdsLock());
            },
            "acquire");
      }
      case ControllerAction.Renew r -> {
        long sent = n.clock();
        dbOp(
            n,
            () ->
                leases.renew(r.epoch())
                    ? new ControllerEvent.Renewed(sent, leases.holdsLock())
                    : new ControllerEvent.RenewFailed(
                        true, "lease held by " + db.owner + " at epoch " + db.epoch),
            "renew");
      }
      case ControllerAction.Release r ->
          dbOp(
              n,
              () -> {
                leases.release(r.epoch(), r.handoverTo());
                return new ControllerEvent.Released();
              },
              "release");
      case ControllerAction.ReleaseLock r -> leases.releaseLock();
      case ControllerAction.Start s -> {
        n.startTimes.computeIfAbsent(s.name(), k -> new ArrayList<>()).add(now);
        if (n.holdStart.contains(s.name())) {
          return;
        }
        long d = resourceDelay();
        if (n.failStart.contains(s.name())) {
          later(
              n,
              d,
              () -> new ControllerEvent.ResourceStartFailed(s.name(), "simulated start failure"));
        } else {
          n.running.put(s.name(), now);
          later(n, d, () -> new ControllerEvent.ResourceStarted(s.name()));
        }
      }
      case ControllerAction.Stop s -> {
        if (n.failStop.contains(s.name())) {
          later(
              n,
              resourceDelay(),
              () -> new ControllerEvent.ResourceStopFailed(s.name(), "simulated stop failure"));
          return;
        }
        Long slow = n.stopMillis.get(s.name());
        if (slow == null) {
          n.running.remove(s.name());
          later(n, resourceDelay(), () -> new ControllerEvent.ResourceStopped(s.name(), null));
        } else {
          // It runs until its stop ends.
          n.slowStopping.add(s.name());
          later(
              n,
              slow * MS,
              () -> {
                n.slowStopping.remove(s.name());
                n.running.remove(s.name());
                return new ControllerEvent.ResourceStopped(s.name(), null);
              });
        }
      }
      case ControllerAction.Check c -> {
        boolean ok = n.healthy.getOrDefault(c.name(), true);
        later(
            n,
            2 * MS,
            () ->
                new ControllerEvent.CheckResult(
                    c.name(), c.seq(), ok ? null : "simulated failure"));
      }
      case ControllerAction.Record r -> {
        HistoryText.Entry e = HistoryText.render(r.event());
        db.history.add(n.name + " " + e.event() + ": " + e.reason());
        n.log.add(e.event());
        if (r.event() instanceof HistoryEvent.FailedOver) {
          db.failovers.add(now);
        }
      }
      case ControllerAction.MarkRoleFailed f -> leases.markRoleFailed(f.epoch(), "marked failed");
      case ControllerAction.ClearMove c -> leases.clearMove(c.epoch());
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
      later(n, 1000 * MS, () -> failure(what));
      return;
    }
    later(n, dbLatency(), () -> n.cut() ? failure(what) : op.get());
  }

  private static ControllerEvent failure(String what) {
    return switch (what) {
      case "renew" -> new ControllerEvent.RenewFailed(false, "database unreachable");
      case "acquire" -> new ControllerEvent.NotAcquired("database unreachable");
      case "release" -> new ControllerEvent.Released();
      default -> new ControllerEvent.ObserveFailed("database unreachable");
    };
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
    // Every other node, one whose JVM alone is paused included, must have stopped its resources
    // before another node starts any.
    List<String> runningOn = new ArrayList<>();
    long wakeAllowance = 4 * resourceDelayMaxMs * MS;
    for (Node n : nodes.values()) {
      if (n.crashed || n.paused()) {
        continue;
      }
      boolean justWoke = n.pausedUntil != Long.MIN_VALUE && now - n.pausedUntil < wakeAllowance;
      boolean jvmFrozen =
          n.jvmPaused()
              || (n.jvmPausedUntil != Long.MIN_VALUE && now - n.jvmPausedUntil < wakeAllowance);
      Set<String> acting = new java.util.LinkedHashSet<>(n.running.keySet());
      if (jvmFrozen) {
        // What runs in the paused JVM is frozen with it; what runs outside it is not.
        acting.retainAll(external);
      } else if (justWoke) {
        acting.clear();
      } else if (!n.controller.isOwner() && !n.slowStopping.isEmpty()) {
        // The built-ins of a node that no longer owns the role act through nothing (its gate asks
        // for ownership) while they wait for the slow stop of a dependent outside the JVM; what
        // runs outside it counts.
        acting.retainAll(external);
      }
      if (!acting.isEmpty()) {
        runningOn.add(n.name + acting);
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
