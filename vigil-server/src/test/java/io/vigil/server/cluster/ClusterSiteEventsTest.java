package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.ClusterSiteEvents.SiteEvent;
import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.cluster.HistoryEvent.Failure;
import io.vigil.server.cluster.HistoryEvent.StepDownReason;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ClusterSiteEventsTest {

  static final NodeId A = new NodeId("vigil-a");
  static final NodeId B = new NodeId("vigil-b");

  static HistoryEvent.Acquired acquired(AcquireMode mode, NodeId previous) {
    return new HistoryEvent.Acquired(B, new Epoch(7), mode, previous, null);
  }

  @Test
  void takingTheRoleFromAnOwnerThatEndedOrStoppedRenewingIsAFailover() {
    for (AcquireMode mode : new AcquireMode[] {AcquireMode.DEAD_OWNER, AcquireMode.FREE}) {
      SiteEvent e = ClusterSiteEvents.of(acquired(mode, A), B).orElseThrow();
      assertThat(e.type()).isEqualTo("cluster.failover");
      assertThat(e.source()).isEqualTo("node:vigil-b");
      assertThat(e.severity()).isEqualTo("warning");
      assertThat(e.data()).containsEntry("previousOwner", "vigil-a").containsEntry("epoch", 7L);
      assertThat(e.message()).contains("vigil-a");
    }
  }

  @Test
  void takingTheRoleHandedOverIsAMove() {
    SiteEvent e = ClusterSiteEvents.of(acquired(AcquireMode.HANDOVER, A), B).orElseThrow();
    assertThat(e.type()).isEqualTo("cluster.move");
    assertThat(e.source()).isEqualTo("node:vigil-b");
    assertThat(e.severity()).isEqualTo("info");
  }

  @Test
  void takingAFreeRoleOrTheNodesOwnFromAPreviousRunIsNoEvent() {
    assertThat(ClusterSiteEvents.of(acquired(AcquireMode.FREE, null), B)).isEmpty();
    assertThat(ClusterSiteEvents.of(acquired(AcquireMode.DEAD_OWNER, B), B)).isEmpty();
    assertThat(ClusterSiteEvents.of(acquired(AcquireMode.OWN_PREVIOUS_RUN, B), B)).isEmpty();
  }

  @Test
  void reachingTheFailoverLimitIsARoleFailureAndOtherStepDownsAreNot() {
    StepDownReason.Failover failover =
        new StepDownReason.Failover(
            "event-server", new Failure.CheckFailed("database away"), 3, Duration.ofMinutes(15));
    SiteEvent e =
        ClusterSiteEvents.of(
                new HistoryEvent.SteppingDown(
                    new StepDownReason.FailoverLimitReached(
                        failover, 3, Duration.ofMinutes(15), 3)),
                A)
            .orElseThrow();
    assertThat(e.type()).isEqualTo("role.failed");
    assertThat(e.source()).isEqualTo("node:vigil-a");
    assertThat(e.severity()).isEqualTo("critical");
    assertThat(e.data()).containsEntry("resource", "event-server");
    assertThat(ClusterSiteEvents.of(new HistoryEvent.SteppingDown(failover), A)).isEmpty();
    assertThat(
            ClusterSiteEvents.of(
                new HistoryEvent.SteppingDown(new StepDownReason.Move(B, "oscar")), A))
        .isEmpty();
  }
}
