package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.RoleController.ResourceState;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Scripted scenarios of the failover controller on a fake clock. */
class RoleControllerTest {

  static final ResourcePolicy FAST =
      new ResourcePolicy(
          Duration.ofMillis(500),
          Duration.ofMillis(500),
          2,
          Duration.ofMinutes(10),
          Duration.ofSeconds(5),
          Duration.ofSeconds(5));

  SimulatedCluster cluster(long seed, RolePolicy policy) {
    return new SimulatedCluster(
        seed, ClusterTiming.DEFAULT, policy, SimulatedCluster.standardResources(FAST));
  }

  SimulatedCluster cluster() {
    return cluster(1, RolePolicy.DEFAULT);
  }

  static void assertSafe(SimulatedCluster c) {
    assertThat(c.violations).isEmpty();
    assertThat(c.maxActiveOwners).isLessThanOrEqualTo(1);
  }

  @Test
  void aSingleNodeTakesTheFreeRoleAndStartsResourcesInDependencyOrder() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(a.running.keySet())
        .containsExactly("client-access-point", "identity-provider", "management-server");
    assertThat(c.db.epoch).isEqualTo(1);
    assertSafe(c);
  }

  @Test
  void ownerStopsItsResourcesItselfWhenItCannotRenewBeforeTheLeaseExpires() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    long expiresAt = c.db.expiresAt;
    c.cut("a", 10_000);
    c.advance(3000);
    assertThat(a.controller.isOwner()).isFalse();
    assertThat(a.running).isEmpty();
    assertThat(a.log).contains("lost");
    // The resources were all down before the lease could have expired.
    assertThat(c.now).isLessThan(expiresAt + ClusterTiming.DEFAULT.leaseDuration().toNanos());
    assertSafe(c);
  }

  @Test
  void standbyTakesOverOnlyAfterTheLeaseExpiresWhenTheOwnerHangs() {
    var c = cluster();
    c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    c.pause("a", 20_000);
    long pausedAt = c.now;
    c.advance(2500);
    assertThat(b.controller.isOwner()).as("lease still valid").isFalse();
    c.advance(4000);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(c.db.epoch).isEqualTo(2);
    assertThat(b.log).contains("acquired");
    assertThat(c.now - pausedAt)
        .isGreaterThan(
            ClusterTiming.DEFAULT.leaseDuration().toNanos()
                - ClusterTiming.DEFAULT.renewInterval().toNanos());
    assertSafe(c);
  }

  @Test
  void aPausedOwnerThatWakesUpFindsItselfDeposedAndStops() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.start("b");
    c.advance(1000);
    c.pause("a", 8000);
    c.advance(8000);
    assertThat(c.runningOwner()).isEqualTo("b");
    c.advance(1000);
    assertThat(a.controller.isOwner()).isFalse();
    assertThat(a.running).isEmpty();
    assertThat(c.runningOwner()).isEqualTo("b");
    assertSafe(c);
  }

  @Test
  void aCrashedOwnerIsReplacedThroughItsReleasedLockWithoutWaitingForTheLease() {
    var c = cluster();
    c.start("a");
    c.advance(1500);
    var b = c.start("b");
    c.advance(1500);
    assertThat(c.db.ownerHasLock).isTrue();
    c.crash("a");
    long crashedAt = c.now;
    c.advance(600);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(c.db.history).anyMatch(h -> h.contains("lock was released"));
    assertThat(c.now - crashedAt).isLessThan(ClusterTiming.DEFAULT.leaseDuration().toNanos());
    assertThat(b.controller.epoch()).isEqualTo(new Epoch(2));
    assertSafe(c);
  }

  @Test
  void anOwnerWhoseLockSessionEndsWhileItLivesKeepsTheRole() {
    var c = cluster();
    c.start("a");
    c.advance(1500);
    c.start("b");
    c.advance(1500);
    assertThat(c.db.ownerHasLock).isTrue();
    c.loseLock("a");
    c.advance(10_000);
    assertSafe(c);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(c.db.epoch).isEqualTo(1);
  }

  @Test
  void afterADatabaseRestartALiveOwnerIsNotTakenForDead() {
    var c = cluster();
    c.start("a");
    c.advance(1500);
    c.start("b");
    c.advance(1500);
    c.restartDatabase();
    c.advance(10_000);
    assertSafe(c);
    assertThat(c.runningOwner()).isEqualTo("a");
  }

  @Test
  void aStandbyThatGrabsTheLockFromALiveOwnerWithoutOneGivesItBack() {
    var c = cluster();
    c.start("a");
    c.advance(1000);
    c.start("b");
    c.start("c");
    c.advance(1000);
    // a is stopped; b takes over by lease expiry while a still holds the lock.
    c.pause("a", 7000);
    c.advance(7000);
    String newOwner = c.runningOwner();
    assertThat(newOwner).isIn("b", "c");
    // a wakes, is deposed and lets its lock go; the new owner must get it, not the other standby.
    c.advance(3000);
    assertThat(c.db.lockHolder).isEqualTo(newOwner);
    assertThat(c.db.ownerHasLock).isTrue();
    assertThat(c.runningOwner()).isEqualTo(newOwner);
    assertSafe(c);
  }

  @Test
  void aLeaseLostWhileResourcesStartStopsThemOnceStarted() {
    var c = cluster();
    var a = c.start("a");
    a.holdStart.add("identity-provider");
    c.advance(500);
    assertThat(a.controller.isOwner()).isTrue();
    assertThat(a.controller.state("identity-provider")).isEqualTo(ResourceState.STARTING);
    c.cut("a", 10_000);
    c.advance(3000);
    assertThat(a.controller.isOwner()).isFalse();
    // The start finally completes; the deposed node stops it at once.
    a.holdStart.clear();
    c.feed(a, new ControllerEvent.ResourceStarted("identity-provider"));
    assertThat(a.controller.state("identity-provider")).isEqualTo(ResourceState.STOPPING);
    c.advance(500);
    assertThat(a.controller.state("client-access-point")).isEqualTo(ResourceState.STOPPED);
    assertSafe(c);
  }

  @Test
  void aFailingResourceIsRestartedInPlaceThenTheRoleFailsOver() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(500);
    a.healthy.put("identity-provider", false);
    c.advance(700);
    assertThat(c.db.history)
        .anyMatch(
            h ->
                h.contains("identity-provider failed its check")
                    && h.contains("restarting it in place (1 of 2"));
    assertThat(a.controller.isOwner()).isTrue();
    c.advance(8000);
    assertThat(c.db.history).anyMatch(h -> h.contains("failing the role over"));
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(c.db.failovers).hasSize(1);
    assertSafe(c);
  }

  @Test
  void dependentsAreRestartedWithTheResourceTheyDependOn() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    long msStartedBefore = a.running.get("management-server");
    a.healthy.put("client-access-point", false);
    c.advance(800);
    a.healthy.put("client-access-point", true);
    c.advance(1500);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(a.running.get("management-server")).isGreaterThan(msStartedBefore);
    assertSafe(c);
  }

  @Test
  void tooManyFailoversMarkTheRoleFailedAndLeaveItStopped() {
    var c =
        cluster(
            3, new RolePolicy(1, Duration.ofMinutes(15), List.of(), false, Duration.ofSeconds(60)));
    var a = c.start("a");
    var b = c.start("b");
    c.advance(1000);
    String first = c.runningOwner();
    var firstNode = c.node(first);
    var other = first.equals("a") ? b : a;
    firstNode.healthy.put("management-server", false);
    other.healthy.put("management-server", false);
    c.advance(30_000);
    assertThat(c.db.roleFailed).isTrue();
    assertThat(c.runningOwner()).isNull();
    assertThat(a.running).isEmpty();
    assertThat(b.running).isEmpty();
    assertThat(c.db.history).anyMatch(h -> h.contains("marked failed"));
    assertSafe(c);
  }

  @Test
  void maintenancePausesChecksAndRestartsButKeepsTheLeaseAndAllowsManualStops() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.db.maintenance = true;
    c.advance(300);
    a.healthy.put("management-server", false);
    c.advance(5000);
    assertThat(a.controller.isOwner()).isTrue();
    assertThat(c.db.history).noneMatch(h -> h.contains("restart"));
    c.db.request(false, "identity-provider", "alice");
    c.advance(500);
    assertThat(a.running.keySet()).containsExactly("client-access-point");
    c.advance(5000);
    assertThat(a.running.keySet())
        .as("nothing restarts by itself")
        .containsExactly("client-access-point");
    c.db.request(true, "identity-provider", "alice");
    c.advance(500);
    assertThat(a.running.keySet())
        .as("what the stop took down with it comes back after it")
        .containsExactly("client-access-point", "identity-provider", "management-server");
    a.healthy.put("management-server", true);
    c.db.maintenance = false;
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertSafe(c);
  }

  @Test
  void inMaintenanceStoppingAResourceByHandStopsItsDependentsFirstAndStartingItStartsThemAfter() {
    var withServices = new java.util.ArrayList<>(SimulatedCluster.standardResources(FAST));
    withServices.add(new ResourceSpec("event-server", List.of("management-server"), FAST));
    withServices.add(new ResourceSpec("data-collector", List.of("management-server"), FAST));
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.feed(a, new ControllerEvent.ResourcesChanged(withServices));
    c.advance(500);
    assertThat(a.running).containsKeys("event-server", "data-collector");
    c.db.maintenance = true;
    c.advance(300);
    a.stopMillis.put("event-server", 2000L);

    c.db.request(false, "management-server", "alice");
    c.advance(1000);
    assertThat(a.running)
        .as("management-server waits for its dependents to stop")
        .containsKeys("management-server", "event-server")
        .doesNotContainKey("data-collector");
    c.advance(2000);
    assertThat(a.running).doesNotContainKeys("management-server", "event-server", "data-collector");

    a.stopMillis.remove("event-server");
    c.db.request(true, "management-server", "alice");
    c.advance(1000);
    assertThat(a.running)
        .as("the dependents stopped with it start again after it")
        .containsKeys("management-server", "event-server", "data-collector");
    assertThat(a.startTimes.get("event-server").getLast())
        .isGreaterThan(a.startTimes.get("management-server").getLast());
    assertThat(a.controller.isOwner()).isTrue();
    assertSafe(c);
  }

  @Test
  void inMaintenanceADependentStoppedByHandStaysStoppedWhenItsDependencyStartsAgain() {
    var withServices = new java.util.ArrayList<>(SimulatedCluster.standardResources(FAST));
    withServices.add(new ResourceSpec("event-server", List.of("management-server"), FAST));
    withServices.add(new ResourceSpec("data-collector", List.of("management-server"), FAST));
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.feed(a, new ControllerEvent.ResourcesChanged(withServices));
    c.advance(500);
    c.db.maintenance = true;
    c.advance(300);
    c.db.request(false, "event-server", "alice");
    c.advance(500);
    c.db.request(false, "management-server", "alice");
    c.advance(500);
    c.db.request(true, "management-server", "alice");
    c.advance(1000);
    assertThat(a.running)
        .containsKeys("management-server", "data-collector")
        .doesNotContainKey("event-server");
    assertSafe(c);
  }

  @Test
  void inMaintenanceAManualStartThatFailsIsNeitherRestartedNorFailedOver() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.start("b");
    c.advance(1000);
    c.db.maintenance = true;
    c.advance(300);
    c.db.request(false, "management-server", "alice");
    c.advance(500);
    a.failStart.add("management-server");
    int before = a.startTimes.get("management-server").size();

    c.db.request(true, "management-server", "alice");
    c.advance(10_000);

    assertThat(a.startTimes.get("management-server")).hasSize(before + 1);
    assertThat(a.controller.isOwner()).isTrue();
    assertThat(c.db.failovers).isEmpty();
    assertThat(c.db.roleFailed).isFalse();
    assertThat(c.db.history).noneMatch(h -> h.contains("resource_restart"));
    assertThat(c.db.history).anyMatch(h -> h.contains("maintenance is on, so it is not restarted"));
    assertThat(a.controller.state("management-server")).isEqualTo(ResourceState.STOPPED);
    assertSafe(c);
  }

  @Test
  void restartsInPlaceWaitLongerEachTime() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    a.failStart.add("management-server");
    a.healthy.put("management-server", false);

    c.advance(10_000);

    List<Long> starts = a.startTimes.get("management-server");
    assertThat(starts).hasSizeGreaterThanOrEqualTo(3);
    long first = starts.get(1) - starts.get(0);
    long second = starts.get(2) - starts.get(1);
    assertThat(first).isGreaterThanOrEqualTo(500 * SimulatedCluster.MS);
    assertThat(second).isGreaterThanOrEqualTo(1000 * SimulatedCluster.MS);
    assertThat(c.db.history).anyMatch(h -> h.contains("in 1000 ms"));
    assertSafe(c);
  }

  @Test
  void restartDelaysDoubleFromHalfASecondUpToThirtySeconds() {
    assertThat(RoleController.restartDelay(1)).isEqualTo(500_000_000L);
    assertThat(RoleController.restartDelay(2)).isEqualTo(1_000_000_000L);
    assertThat(RoleController.restartDelay(3)).isEqualTo(2_000_000_000L);
    assertThat(RoleController.restartDelay(10)).isEqualTo(30_000_000_000L);
    assertThat(RoleController.restartDelay(1000)).isEqualTo(30_000_000_000L);
  }

  @Test
  void aMoveStopsGracefullyAndHandsTheRoleToTheTargetAtOnce() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.start("c");
    c.advance(1000);
    c.db.moveTo = "c";
    long requested = c.now;
    long deadline = requested + 700 * SimulatedCluster.MS;
    while (c.runningOwner() == null || !c.runningOwner().equals("c")) {
      c.advance(10);
      assertThat(c.now).isLessThan(deadline);
    }
    assertThat(c.db.moveTo).isNull();
    assertThat(b.controller.isOwner()).isFalse();
    assertThat(a.running).isEmpty();
    assertThat(c.db.history).anyMatch(h -> h.contains("move to c requested by tester"));
    assertThat(c.db.failovers).isEmpty();
    assertSafe(c);
  }

  @Test
  void aResourceThatCannotBeStoppedKeepsTheRoleOnItsNodeUntilAStopSucceeds() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    var b = c.start("b");
    c.advance(1000);
    a.failStop.add("management-server");
    c.db.moveTo = "b";
    c.advance(8000);
    assertThat(a.controller.isOwner()).as("the lease is kept while it may still run").isTrue();
    assertThat(a.controller.state("management-server")).isEqualTo(ResourceState.STOP_FAILED);
    assertThat(b.controller.isOwner()).isFalse();
    assertThat(c.db.epoch).isEqualTo(1);
    assertThat(c.db.history).anyMatch(h -> h.contains("management-server on a may still run"));
    assertThat(a.startTimes.get("management-server")).hasSize(1);

    a.failStop.clear();
    c.advance(6000);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(a.running).isEmpty();
    assertSafe(c);
  }

  @Test
  void aMoveToAnyNodePicksTheMostPreferredOther() {
    var c =
        cluster(
            1,
            new RolePolicy(
                3, Duration.ofMinutes(15), List.of("a", "c", "b"), false, Duration.ofSeconds(60)));
    c.start("a");
    c.advance(1000);
    c.start("b");
    c.start("c");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    c.db.moveTo = ClusterView.ANY_NODE.name();
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("c");
    assertSafe(c);
  }

  @Test
  void aMoveToANodeThatIsNotUpIsRefusedAndRecorded() {
    var c = cluster();
    c.start("a");
    c.advance(1000);
    c.db.moveTo = "zed";
    c.advance(500);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(c.db.moveTo).isNull();
    assertThat(c.db.history).anyMatch(h -> h.contains("move_refused") && h.contains("zed"));
  }

  @Test
  void thePreferredOwnerWinsAFreeRole() {
    for (long seed = 0; seed < 20; seed++) {
      var c =
          cluster(
              seed,
              new RolePolicy(
                  3, Duration.ofMinutes(15), List.of("b", "a"), false, Duration.ofSeconds(60)));
      c.start("c");
      c.start("a");
      c.start("b");
      c.advance(2000);
      assertThat(c.runningOwner()).as("seed " + seed).isEqualTo("b");
      assertSafe(c);
    }
  }

  @Test
  void failbackIsOffByDefaultAndWaitsForItsDelayWhenOn() {
    var off =
        cluster(
            1,
            new RolePolicy(3, Duration.ofMinutes(15), List.of("a"), false, Duration.ofSeconds(5)));
    off.start("b");
    off.advance(1000);
    off.start("a");
    off.advance(10_000);
    assertThat(off.runningOwner()).isEqualTo("b");

    var on =
        cluster(
            1,
            new RolePolicy(3, Duration.ofMinutes(15), List.of("a"), true, Duration.ofSeconds(5)));
    on.start("b");
    on.advance(1000);
    on.start("a");
    on.advance(4000);
    assertThat(on.runningOwner()).as("before the delay").isEqualTo("b");
    on.advance(3000);
    assertThat(on.runningOwner()).isEqualTo("a");
    assertThat(on.db.history).anyMatch(h -> h.contains("failback to preferred owner a"));
    assertSafe(on);
  }

  @Test
  void aPausedNodeTakesNoRoleAndDrainingMovesTheRoleAwayFirst() {
    var c = cluster();
    c.db.paused.add("b");
    c.start("b");
    c.advance(2000);
    assertThat(c.runningOwner()).as("paused node takes nothing").isNull();
    c.start("a");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("a");
    c.db.paused.remove("b");
    c.advance(500);
    c.db.draining.add("a");
    c.advance(1000);
    assertThat(c.runningOwner()).isEqualTo("b");
    assertThat(c.db.paused).contains("a");
    assertThat(c.db.draining).isEmpty();
    assertSafe(c);
  }

  @Test
  void aDrainingOwnerWithNoOtherNodeKeepsTheRoleAndSaysWhy() {
    var c = cluster();
    c.start("a");
    c.advance(1000);
    c.db.draining.add("a");
    c.advance(2000);
    assertThat(c.runningOwner()).isEqualTo("a");
    assertThat(c.db.history).anyMatch(h -> h.contains("drain_waiting"));
  }

  @Test
  void aRestartedSingleServerTakesBackItsOwnLeaseWithoutWaiting() {
    var c = cluster();
    c.db.exclusive = true;
    c.start("solo");
    c.advance(1000);
    c.crash("solo");
    c.start("solo");
    c.advance(400);
    assertThat(c.runningOwner()).isEqualTo("solo");
    assertThat(c.db.epoch).isEqualTo(2);
  }

  @Test
  void shutdownStopsEverythingAndHandsTheRoleOver() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    c.start("b");
    c.advance(500);
    c.feed(a, new ControllerEvent.Shutdown());
    c.advance(800);
    assertThat(a.log).contains("shutdown-complete");
    assertThat(a.running).isEmpty();
    assertThat(c.runningOwner()).isEqualTo("b");
    assertSafe(c);
  }

  @Test
  void twoNodesStartingTogetherEndWithExactlyOneOwner() {
    for (long seed = 0; seed < 50; seed++) {
      var c = cluster(seed, RolePolicy.DEFAULT);
      c.start("a");
      c.start("b");
      c.start("c");
      c.advance(2000);
      assertThat(c.runningOwner()).as("seed " + seed).isNotNull();
      assertThat(c.db.epoch).as("one change of owner").isEqualTo(1);
      assertSafe(c);
    }
  }

  @Test
  void addingAGenericResourceStartsItAfterItsDependencyAndRemovingItStopsItFirst() {
    var c = cluster();
    var a = c.start("a");
    c.advance(1000);
    var withVip = new java.util.ArrayList<>(SimulatedCluster.standardResources(FAST));
    withVip.add(new ResourceSpec("vip", List.of("client-access-point"), FAST));
    withVip.add(new ResourceSpec("recorder-sync", List.of("vip"), FAST));
    c.feed(a, new ControllerEvent.ResourcesChanged(withVip));
    c.advance(500);
    assertThat(a.running).containsKeys("vip", "recorder-sync");
    c.feed(
        a,
        new ControllerEvent.ResourcesChanged(
            SimulatedCluster.standardResources(FAST).subList(0, 3)));
    c.advance(500);
    assertThat(a.running).doesNotContainKeys("vip", "recorder-sync");
    assertThat(c.runningOwner()).isEqualTo("a");
  }

  @Test
  void aNodeToldToShutDownWhileItsAcquisitionIsInFlightGivesUpTheRoleItGotAndCompletes() {
    long t = 1_000_000_000L;
    var rc =
        new RoleController(
            new NodeId("a"),
            ClusterTiming.DEFAULT,
            RolePolicy.DEFAULT,
            SimulatedCluster.standardResources(FAST),
            t);
    assertThat(rc.handle(new ControllerEvent.Tick(), t))
        .hasAtLeastOneElementOfType(ControllerAction.Observe.class);
    var free =
        new ClusterView(
            new LeaseView(null, Epoch.NONE, true, null, false, false),
            false,
            false,
            null,
            null,
            false,
            false,
            java.util.Map.of(new NodeId("a"), Duration.ofSeconds(1)),
            0,
            false,
            false);
    t += 1_000_000;
    assertThat(rc.handle(new ControllerEvent.Observed(free), t))
        .hasAtLeastOneElementOfType(ControllerAction.Acquire.class);
    t += 1_000_000;
    assertThat(rc.handle(new ControllerEvent.Shutdown(), t))
        .as("not complete while the acquisition may still succeed")
        .noneMatch(ControllerAction.ShutdownComplete.class::isInstance);
    t += 1_000_000;
    var actions =
        new java.util.ArrayList<>(
            rc.handle(new ControllerEvent.Acquired(new Epoch(1), t, true), t));
    for (int i = 0;
        i < 300 && actions.stream().noneMatch(ControllerAction.Release.class::isInstance);
        i++) {
      t += 10_000_000;
      for (ControllerAction a : List.copyOf(actions)) {
        if (a instanceof ControllerAction.Renew) {
          actions.addAll(rc.handle(new ControllerEvent.Renewed(t, true), t));
        } else if (a instanceof ControllerAction.Observe) {
          actions.addAll(rc.handle(new ControllerEvent.Observed(free), t));
        }
      }
      actions.addAll(rc.handle(new ControllerEvent.Tick(), t));
    }
    assertThat(actions)
        .as("the lease it got is given up")
        .anyMatch(ControllerAction.Release.class::isInstance);
    assertThat(rc.handle(new ControllerEvent.Released(), t + 1_000_000))
        .anyMatch(ControllerAction.ShutdownComplete.class::isInstance);
    assertThat(rc.isShutdownComplete()).isTrue();
  }

  @Test
  void anOwnerCarriesOutOnlyTheManualRequestsMadeWhileItOwnsTheRole() {
    long t = 1_000_000_000L;
    NodeId a = new NodeId("a");
    var rc =
        new RoleController(
            a,
            ClusterTiming.DEFAULT,
            RolePolicy.DEFAULT,
            SimulatedCluster.standardResources(FAST),
            t);
    var free =
        new ClusterView(
            new LeaseView(null, Epoch.NONE, true, null, false, false),
            true,
            false,
            null,
            null,
            false,
            false,
            java.util.Map.of(a, Duration.ofSeconds(1)),
            0,
            false,
            false);
    var owned =
        new ClusterView(
            new LeaseView(a, new Epoch(1), false, null, true, false),
            true,
            false,
            null,
            null,
            false,
            false,
            java.util.Map.of(a, Duration.ofSeconds(1)),
            0,
            true,
            false);
    ControllerAction.Observe first =
        (ControllerAction.Observe) rc.handle(new ControllerEvent.Tick(), t).getFirst();
    assertThat(first.requestsAfter()).as("a standby reads no requests").isNull();
    rc.handle(new ControllerEvent.Observed(free), t += 1_000_000);
    rc.handle(new ControllerEvent.Acquired(new Epoch(1), t, true), t += 1_000_000);

    var observe = observe(rc.handle(new ControllerEvent.Tick(), t += 100_000_000));
    assertThat(observe.asOwner()).isTrue();
    assertThat(observe.requestsAfter())
        .as("the term's first read finds where requests stand")
        .isEqualTo(-1L);
    // Asked for before a took the role (in maintenance, only what is asked for starts).
    var stale = new ManualRequest(7, true, "client-access-point", "alice");
    assertThat(rc.handle(new ControllerEvent.Observed(owned, List.of(stale)), t += 1_000_000))
        .noneMatch(
            x -> x instanceof ControllerAction.Start || x instanceof ControllerAction.Record);

    observe = observe(rc.handle(new ControllerEvent.Tick(), t += 100_000_000));
    assertThat(observe.requestsAfter()).isEqualTo(7L);
    var fresh = new ManualRequest(8, true, "client-access-point", "bob");
    assertThat(rc.handle(new ControllerEvent.Observed(owned, List.of(fresh)), t += 1_000_000))
        .anyMatch(
            x -> x instanceof ControllerAction.Start s && s.name().equals("client-access-point"))
        .contains(
            new ControllerAction.Record(
                new HistoryEvent.ManualStart("client-access-point", "bob")));
  }

  private static ControllerAction.Observe observe(List<ControllerAction> actions) {
    return actions.stream()
        .filter(ControllerAction.Observe.class::isInstance)
        .map(ControllerAction.Observe.class::cast)
        .findFirst()
        .orElseThrow();
  }
}
