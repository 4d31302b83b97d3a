package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Leases} must do, run against the simulation's in-memory database ({@code
 * SimulatedLeasesTest}), the embedded H2 ({@code LeaseStoreH2Test}) and PostgreSQL ({@code
 * LeaseStorePostgresIT}), so that the simulation proves things about the stores nodes really use.
 */
abstract class LeasesContract {

  static final NodeId A = new NodeId("a");
  static final NodeId B = new NodeId("b");
  static final NodeId C = new NodeId("c");
  static final Epoch FIRST = new Epoch(1);

  /** The leases of node {@code name}, registered and up. */
  abstract Leases node(String name) throws Exception;

  /** The database's clock passes the lease's expiry. */
  abstract void expireLease() throws Exception;

  /** An operator asks for the role to move to {@code node}. */
  abstract void requestMove(String node) throws Exception;

  abstract boolean roleFailed() throws Exception;

  abstract String moveTo() throws Exception;

  private static LeaseView lease(Leases l) throws Exception {
    return l.observe(false, true, RolePolicy.DEFAULT).lease();
  }

  @Test
  void aFreeLeaseIsTakenAtTheNextEpochAndEveryNodeSeesItsOwner() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    assertThat(lease(b).owner()).isNull();
    assertThat(lease(b).epoch()).isEqualTo(Epoch.NONE);

    assertThat(a.acquire(AcquireMode.FREE, null, Epoch.NONE)).isEqualTo(FIRST);

    LeaseView seen = lease(b);
    assertThat(seen.owner()).isEqualTo(A);
    assertThat(seen.epoch()).isEqualTo(FIRST);
    assertThat(seen.expired()).isFalse();
    assertThat(seen.handoverTo()).isNull();
  }

  @Test
  void ofTwoNodesRacingForTheSameFreeLeaseOnlyOneWins() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    assertThat(a.acquire(AcquireMode.FREE, null, Epoch.NONE)).isEqualTo(FIRST);
    assertThat(b.acquire(AcquireMode.FREE, null, Epoch.NONE)).isNull();
    assertThat(lease(b).owner()).isEqualTo(A);
  }

  @Test
  void onlyTheOwnerRenewsAndOnlyAtItsOwnEpoch() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    assertThat(a.renew(FIRST)).isTrue();
    assertThat(a.renew(Epoch.NONE)).as("a stale epoch").isFalse();
    assertThat(a.renew(FIRST.next())).as("an epoch not yet taken").isFalse();
    assertThat(b.renew(FIRST)).as("another node").isFalse();
    assertThat(lease(b).owner()).isEqualTo(A);
  }

  @Test
  void aValidLeaseIsNotTakenAsFreeButAnExpiredOneIsAtTheNextEpoch() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    assertThat(b.acquire(AcquireMode.FREE, A, FIRST)).as("still valid").isNull();

    expireLease();
    assertThat(lease(b).expired()).isTrue();
    assertThat(b.acquire(AcquireMode.FREE, A, FIRST)).isEqualTo(new Epoch(2));

    assertThat(a.renew(FIRST)).as("the previous owner can no longer renew").isFalse();
    LeaseView seen = lease(a);
    assertThat(seen.owner()).isEqualTo(B);
    assertThat(seen.epoch()).isEqualTo(new Epoch(2));
    assertThat(seen.expired()).isFalse();
  }

  @Test
  void anAcquisitionOfALeaseThatChangedSinceItWasSeenFails() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    expireLease();
    assertThat(b.acquire(AcquireMode.FREE, null, Epoch.NONE)).as("seen before a took it").isNull();
  }

  @Test
  void anExpiredLeaseSeenHeldIsNotTakenAsFreeOnceItsOwnerHandedItToAnother() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    Leases c = node("c");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    expireLease();
    LeaseView seen = lease(b);
    assertThat(seen.expired()).isTrue();
    // a, late, still gives the role to c before b's acquisition arrives.
    a.release(FIRST, C);

    assertThat(b.acquire(AcquireMode.FREE, seen.owner(), seen.epoch())).isNull();
    assertThat(c.acquire(AcquireMode.HANDOVER, null, FIRST)).isEqualTo(new Epoch(2));
  }

  @Test
  void aReleaseWithAHandoverReservesTheLeaseForItsTarget() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    Leases c = node("c");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);

    a.release(FIRST, B);

    LeaseView seen = lease(c);
    assertThat(seen.owner()).isNull();
    assertThat(seen.handoverTo()).isEqualTo(B);
    assertThat(seen.epoch()).isEqualTo(FIRST);
    assertThat(c.acquire(AcquireMode.HANDOVER, null, FIRST)).as("not the target").isNull();
    assertThat(b.acquire(AcquireMode.HANDOVER, null, FIRST)).isEqualTo(new Epoch(2));
    assertThat(lease(c).owner()).isEqualTo(B);
    assertThat(lease(c).handoverTo()).isNull();
  }

  @Test
  void aReleasedLeaseWithNoHandoverIsFreeForAnyNodeAtOnce() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    a.release(FIRST, null);
    assertThat(b.acquire(AcquireMode.FREE, null, FIRST)).isEqualTo(new Epoch(2));
  }

  @Test
  void aReleaseUnderAStaleEpochOrByAnotherNodeChangesNothing() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    a.release(Epoch.NONE, C);
    b.release(FIRST, C);
    LeaseView seen = lease(b);
    assertThat(seen.owner()).isEqualTo(A);
    assertThat(seen.handoverTo()).isNull();
    assertThat(a.renew(FIRST)).isTrue();
  }

  @Test
  void aDeposedOwnersLateBookkeepingDoesNotChangeTheNextOwnersRole() throws Exception {
    Leases a = node("a");
    Leases b = node("b");
    Epoch first = a.acquire(AcquireMode.FREE, null, Epoch.NONE);
    expireLease();
    Epoch second = b.acquire(AcquireMode.FREE, A, first);
    requestMove("c");

    // What a was told to do while it owned the role arrives after b took it.
    assertThat(a.markRoleFailed(first, "a resource of a failed too often")).isFalse();
    assertThat(a.clearMove(first)).isFalse();
    assertThat(roleFailed()).isFalse();
    assertThat(moveTo()).isEqualTo("c");

    assertThat(b.clearMove(second)).isTrue();
    assertThat(b.markRoleFailed(second, "b's resource failed too often")).isTrue();
    assertThat(roleFailed()).isTrue();
    assertThat(moveTo()).isNull();
    assertThat(lease(a).owner()).isEqualTo(B);
  }

  @Test
  void everyNodeSeesTheLiveNodesAndItsOwnRequests() throws Exception {
    Leases a = node("a");
    node("b");
    requestMove("b");
    ClusterView view = a.observe(false, true, RolePolicy.DEFAULT);
    assertThat(view.liveNodes()).containsKeys(A, B);
    assertThat(view.moveTo()).isEqualTo(B);
    assertThat(view.roleFailed()).isFalse();
    assertThat(view.selfPaused()).isFalse();
  }
}
