package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Generated scenarios: three nodes, random crashes, restarts, pauses, cut database links, lock
 * sessions ended under a live owner, database server restarts, failing resources, moves, drains and
 * maintenance, on a fake clock. After every 10 ms step no two nodes may act as owner; after the
 * faults heal, one node must own the role with everything running.
 */
class RoleControllerSimulationTest {

  private static final List<String> NODES = List.of("a", "b", "c");

  @Test
  void noTwoOwnersAndEventualRecoveryAcrossManyGeneratedScenarios() {
    int scenarios = Integer.getInteger("vigil.simulation.scenarios", 300);
    long first = Long.getLong("vigil.simulation.seed", 0L);
    for (long seed = first; seed < first + scenarios; seed++) {
      runScenario(seed);
    }
  }

  private void runScenario(long seed) {
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
    var c =
        new SimulatedCluster(
            seed,
            ClusterTiming.DEFAULT,
            rolePolicy,
            SimulatedCluster.standardResources(resourcePolicy));
    c.dbLatencyMaxMs = 1 + r.nextInt(40);
    for (String n : NODES) {
      c.start(n);
    }
    String context = "seed " + seed;
    for (int step = 0; step < 60; step++) {
      String n = NODES.get(r.nextInt(NODES.size()));
      var node = c.node(n);
      switch (r.nextInt(15)) {
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
            c.feed(
                node,
                r.nextBoolean()
                    ? new ControllerEvent.ManualStop(res, "op")
                    : new ControllerEvent.ManualStart(res, "op"));
          }
        }
        case 11 -> {
          if (!node.crashed && !node.paused()) {
            c.feed(node, new ControllerEvent.Fenced("simulated"));
          }
        }
        case 12 -> c.loseLock(n);
        case 13 -> c.restartDatabase();
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
      if (node.cut()) {
        node.cutUntil = c.now;
      }
    }
    c.db.maintenance = false;
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
