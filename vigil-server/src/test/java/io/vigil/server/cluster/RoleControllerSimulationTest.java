package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Generated scenarios: three nodes, random crashes, restarts, pauses, cut database links, lock
 * sessions ended under a live owner, database server restarts, failing resources, moves, drains and
 * maintenance, on a fake clock; and, scripted and generated, the faults of a node that lives on: a
 * lock session that keeps being ended, stops slower than the lease, pauses of the JVM alone, and
 * monotonic clocks that start anywhere and run at other rates. After every 10 ms step no two nodes
 * may act as owner and resources may not run on two nodes; after the faults heal, one node must own
 * the role with everything running.
 */
class RoleControllerSimulationTest {

  private static final List<String> NODES = List.of("a", "b", "c");

  /** A generic resource: it runs outside the JVM, and the dead man's switch ends it. */
  private static final String VIP = "vip";

  @Test
  void noTwoOwnersAndEventualRecoveryAcrossManyGeneratedScenarios() {
    int scenarios = Integer.getInteger("vigil.simulation.scenarios", 300);
    long first = Long.getLong("vigil.simulation.seed", 0L);
    for (long seed = first; seed < first + scenarios; seed++) {
      runScenario(seed, false);
    }
  }

  @Test
  void noTwoOwnersAndEventualRecoveryWithSkewedClocksJvmPausesSlowStopsAndBrokenLockSessions() {
    int scenarios = Integer.getInteger("vigil.simulation.scenarios", 300);
    long first = Long.getLong("vigil.simulation.seed", 0L);
    for (long seed = first; seed < first + scenarios; seed++) {
      runScenario(seed, true);
    }
  }

  // ------------------------------------------------------------ scripted faults of live nodes

  private static final ResourcePolicy FAST = RoleControllerTest.FAST;

  private static SimulatedCluster cluster(List<ResourceSpec> specs) {
    return new SimulatedCluster(1, ClusterTiming.DEFAULT, RolePolicy.DEFAULT, specs);
  }

  private static List<ResourceSpec> withVip() {
    var specs = new ArrayList<>(SimulatedCluster.standardResources(FAST));
    specs.add(new ResourceSpec(VIP, List.of("client-access-point"), FAST));
    return specs;
  }

  private static void assertSafe(SimulatedCluster c) {
    assertThat(c.violations).as(tail(c)).isEmpty();
    assertThat(c.maxActiveOwners).isLessThanOrEqualTo(1);
  }

  /** When the first takeover recorded by {@code node} was carried out (database time), or -1. */
  private static long acquiredAt(SimulatedCluster.Node node) {
    return node.actions.stream()
        .filter(
            e ->
                e.getValue() instanceof ControllerAction.Record r
                    && r.event() instanceof HistoryEvent.Acquired)
        .mapToLong(java.util.Map.Entry::getKey)
        .findFirst()
        .orElse(-1);
  }

  @Test
  void anOwnerWhoseLockSessionEndsWhileItLivesIsNotDeposedBeforeItsRenewDeadline() {
    var c = cluster(SimulatedCluster.standardResources(FAST));
    c.start("a");
    c.advance(1500);
    c.start("b");
    c.start("c");
    c.advance(1500);
    assertThat(c.db.ownerHasLock).isTrue();

    // Every lock session a opens is ended for 20 s; its other sessions, and it, live on.
    c.breakLock("a", 20_000);
    c.advance(20_000);

    assertSafe(c);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(c.db.epoch).as("never taken over").isEqualTo(1);
    assertThat(c.db.ownerHasLock).as("the lease says a holds no lock").isFalse();
    c.advance(2000);
    assertThat(c.db.lockHolder).as("a takes its lock again once it can").isEqualTo("a");
    assertThat(c.db.ownerHasLock).isTrue();
  }

  @Test
  void anOwnerThatLostItsLockSessionAndThenDiesIsReplacedByLeaseExpiryNotByTheFastPath() {
    var c = cluster(SimulatedCluster.standardResources(FAST));
    c.start("a");
    c.advance(1500);
    var b = c.start("b");
    c.advance(1500);
    c.breakLock("a", 60_000);
    c.advance(3000);
    long expiresAt = c.db.expiresAt;

    c.crash("a");
    c.advance(8000);

    assertSafe(c);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(acquiredAt(b))
        .as("only once the database clock passed the lease")
        .isGreaterThan(expiresAt);
    assertThat(c.db.history).anyMatch(h -> h.contains("the lease of a expired"));
    assertThat(c.db.history).noneMatch(h -> h.contains("lock was released"));
  }

  @Test
  void aStopSlowerThanTheLeaseKeepsTheLeaseOnItsNodeAndNoOtherNodeStartsTheRole() {
    var c = cluster(SimulatedCluster.standardResources(FAST));
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(1000);
    long lease = ClusterTiming.DEFAULT.leaseDuration().toMillis();
    a.stopMillis.put("identity-provider", 3 * lease);

    c.db.moveTo = "b";
    c.advance(2 * lease);

    assertThat(a.running).as("still stopping").containsKey("identity-provider");
    assertThat(a.controller.isOwner()).as("the lease stays while it stops").isTrue();
    assertThat(c.db.owner).isEqualTo("a");
    assertThat(c.db.expiresAt).as("renewed meanwhile").isGreaterThan(c.now);
    assertThat(b.running).isEmpty();
    assertThat(c.db.epoch).isEqualTo(1);

    c.advance(2 * lease);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(a.running).isEmpty();
    assertThat(c.db.epoch).isEqualTo(2);
    assertSafe(c);
  }

  @Test
  void anOwnerWhoseJvmAlonePausesLongerThanTheLeaseStepsDownAtOnceWhenItResumes() {
    var c = cluster(withVip());
    c.external.add(VIP);
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(a.running).containsKey(VIP);

    long pause = 2 * ClusterTiming.DEFAULT.leaseDuration().toMillis();
    long resumesAt = c.now + pause * SimulatedCluster.MS;
    c.pauseJvm("a", pause);
    c.advance(pause - 10);

    assertThat(a.running)
        .as("the dead man's switch ended what ran outside the JVM")
        .doesNotContainKey(VIP);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(a.actionsSince(resumesAt - pause * SimulatedCluster.MS + SimulatedCluster.MS))
        .as("nothing while paused")
        .isEmpty();

    c.advance(20);
    assertThat(a.controller.isOwner()).isFalse();
    List<ControllerAction> after = a.actionsSince(resumesAt);
    assertThat(after)
        .as("no action of an owner after resuming")
        .noneMatch(
            x ->
                x instanceof ControllerAction.Start
                    || x instanceof ControllerAction.Renew
                    || x instanceof ControllerAction.Release
                    || x instanceof ControllerAction.ClearMove
                    || x instanceof ControllerAction.MarkRoleFailed
                    || x instanceof ControllerAction.Check);
    assertThat(after)
        .as("it records at once that it stopped acting as owner")
        .anyMatch(
            x -> x instanceof ControllerAction.Record r && r.event() instanceof HistoryEvent.Lost);
    c.advance(1000);
    assertThat(a.running).isEmpty();
    assertThat(c.runningOwner()).isEqualTo("b");
    assertSafe(c);
  }

  @Test
  void nodeClocksWithOtherOriginsAndRatesNeverDecideWhenALeaseExpires() {
    var c = cluster(SimulatedCluster.standardResources(FAST));
    // a's clock starts far below zero and runs 20% slow, b's far above and 25% fast.
    c.skewClock("a", -4_000_000_000_000_000L, 0.8);
    c.skewClock("b", 7_000_000_000_000_000L, 1.25);
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(2000);
    assertThat(c.runningOwner()).isEqualTo("a");

    // a loses the database: by its slow clock it still stops before the lease expires.
    long expiresAt = c.db.expiresAt;
    c.cut("a", 20_000);
    long stoppedAt = -1;
    for (int i = 0; i < 600 && stoppedAt < 0; i++) {
      c.advance(10);
      if (a.running.isEmpty()) {
        stoppedAt = c.now;
      }
    }
    assertThat(stoppedAt).isPositive().isLessThan(expiresAt);
    c.advance(5000);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(acquiredAt(b)).as("b took it by the database's clock").isGreaterThan(expiresAt);

    // b, whose clock runs fast, is stopped; a takes over only when the database says so.
    a.cutUntil = c.now;
    c.advance(2000);
    long bExpiresAt = c.db.expiresAt;
    c.pause("b", 15_000);
    c.advance(15_000);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(c.db.epoch).isEqualTo(3);
    assertThat(
            a.actions.stream()
                .filter(
                    e ->
                        e.getValue() instanceof ControllerAction.Record r
                            && r.event() instanceof HistoryEvent.Acquired h
                            && h.epoch().value() == 3)
                .mapToLong(java.util.Map.Entry::getKey)
                .findFirst()
                .orElseThrow())
        .isGreaterThan(bExpiresAt);
    assertSafe(c);
  }

  // ------------------------------------------------------------ generated

  private void runScenario(long seed, boolean liveNodeFaults) {
    Random r = new Random(seed * 7919 + 17);
    ResourcePolicy resourcePolicy =
        new ResourcePolicy(
            Duration.ofMillis(200 + r.nextInt(800)),
            Duration.ofMillis(200 + r.nextInt(500)),
            r.nextInt(3),
            Duration.ofSeconds(30),
            Duration.ofSeconds(5),
            Duration.ofSeconds(5));
    RolePolicy rolePolicy =
        new RolePolicy(
            1 + r.nextInt(4),
            Duration.ofMinutes(1),
            r.nextBoolean() ? List.of("b", "a") : List.of(),
            r.nextBoolean(),
            Duration.ofSeconds(2));
    var specs = new ArrayList<>(SimulatedCluster.standardResources(resourcePolicy));
    if (liveNodeFaults) {
      specs.add(new ResourceSpec(VIP, List.of("client-access-point"), resourcePolicy));
    }
    var c = new SimulatedCluster(seed, ClusterTiming.DEFAULT, rolePolicy, specs);
    c.dbLatencyMaxMs = 1 + r.nextInt(40);
    if (liveNodeFaults) {
      c.external.add(VIP);
      for (String n : NODES) {
        // Monotonic clocks start anywhere and run at their own rate, within 20% or so.
        c.skewClock(n, r.nextLong() / 4, 0.8 + 0.45 * r.nextDouble());
      }
    }
    for (String n : NODES) {
      c.start(n);
    }
    String context = "seed " + seed;
    for (int step = 0; step < 60; step++) {
      String n = NODES.get(r.nextInt(NODES.size()));
      var node = c.node(n);
      switch (r.nextInt(liveNodeFaults ? 18 : 15)) {
        case 0 -> {
          if (!node.crashed) {
            c.crash(n);
          }
        }
        case 1 -> {
          if (node.crashed) {
            c.start(n);
          }
        }
        case 2 -> {
          if (!node.crashed) {
            c.pause(n, 500 + r.nextInt(9000));
          }
        }
        case 3 -> {
          if (!node.crashed) {
            c.cut(n, 500 + r.nextInt(9000));
          }
        }
        case 4 -> node.healthy.put(pick(r, c), false);
        case 5 -> node.healthy.clear();
        case 6 ->
            c.db.moveTo = r.nextBoolean() ? ClusterView.ANY_NODE.name() : NODES.get(r.nextInt(3));
        case 7 -> c.db.maintenance = !c.db.maintenance;
        case 8 -> {
          if (r.nextBoolean()) {
            c.db.paused.add(n);
          } else {
            c.db.paused.remove(n);
          }
        }
        case 9 -> c.db.draining.add(n);
        case 10 -> {
          if (!node.crashed && !node.paused() && c.db.maintenance) {
            String res = pick(r, c);
            c.db.request(!r.nextBoolean(), res, "op");
          }
        }
        case 11 -> {
          if (!node.crashed && !node.paused()) {
            c.feed(node, new ControllerEvent.Fenced("simulated"));
          }
        }
        case 12 -> c.loseLock(n);
        case 13 -> c.restartDatabase();
        case 15 -> {
          if (!node.crashed) {
            c.pauseJvm(n, 500 + r.nextInt(9000));
          }
        }
        // Only what runs outside the JVM stops slowly; the dead man's switch bounds it.
        case 16 -> node.stopMillis.put(VIP, (long) r.nextInt(6000));
        case 17 -> c.breakLock(n, 500 + r.nextInt(9000));
        default -> {}
      }
      c.advance(100 + r.nextInt(3000));
      assertThat(c.violations).as(context + "\n" + String.join("\n", c.db.history)).isEmpty();
    }

    // Heal everything; an operator resets a failed role.
    for (String n : NODES) {
      var node = c.node(n);
      if (node.crashed) {
        c.start(n);
      }
      node.healthy.clear();
      if (node.paused()) {
        node.pausedUntil = c.now;
      }
      if (node.jvmPaused()) {
        node.jvmPausedUntil = c.now;
      }
      node.stopMillis.clear();
      if (node.cut()) {
        node.cutUntil = c.now;
      }
    }
    c.db.maintenance = false;
    c.db.lockBroken.clear();
    c.db.paused.clear();
    c.db.draining.clear();
    c.db.moveTo = null;
    c.db.roleFailed = false;
    c.db.failovers.clear();
    c.advance(15_000);
    assertThat(c.violations).as(context + "\n" + tail(c)).isEmpty();
    assertThat(c.runningOwner())
        .as(
            context
                + "\n"
                + String.join(
                    "\n",
                    c.db.history.subList(
                        Math.max(0, c.db.history.size() - 30), c.db.history.size())))
        .isNotNull();
    String owner = c.runningOwner();
    for (String n : NODES) {
      if (!n.equals(owner)) {
        assertThat(c.node(n).running).as(context + ": standby " + n + " runs nothing").isEmpty();
      }
    }
  }

  private static String tail(SimulatedCluster c) {
    return String.join(
        "\n", c.db.history.subList(Math.max(0, c.db.history.size() - 30), c.db.history.size()));
  }

  private static String pick(Random r, SimulatedCluster c) {
    return c.specs.get(r.nextInt(c.specs.size())).name();
  }
}
