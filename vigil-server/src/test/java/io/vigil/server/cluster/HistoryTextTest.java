package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.cluster.HistoryEvent.Failure;
import io.vigil.server.cluster.HistoryEvent.LossCause;
import io.vigil.server.cluster.HistoryEvent.StepDownReason;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The history's stored text, which the CLI and the cluster API show as it is. */
class HistoryTextTest {

  private static final NodeId A = new NodeId("a");
  private static final NodeId B = new NodeId("b");

  private static String text(HistoryEvent e) {
    HistoryText.Entry entry = HistoryText.render(e);
    return entry.event() + ": " + entry.reason();
  }

  @Test
  void takeoversSayHowTheRoleWasTaken() {
    assertThat(text(new HistoryEvent.Acquired(A, new Epoch(3), AcquireMode.FREE, B, null)))
        .isEqualTo("acquired: a took the role: the lease of b expired (epoch 3)");
    assertThat(text(new HistoryEvent.Acquired(A, new Epoch(1), AcquireMode.FREE, null, B)))
        .isEqualTo(
            "acquired: a took the role: the role was handed to b, which did not take it (epoch 1)");
    assertThat(text(new HistoryEvent.Acquired(A, new Epoch(2), AcquireMode.DEAD_OWNER, A, null)))
        .isEqualTo(
            "acquired: a took the role: the process of a previous run of a ended (its lock was"
                + " released and none of its sessions remain) (epoch 2)");
  }

  @Test
  void lossesSayWhyTheOwnerStopped() {
    assertThat(text(new HistoryEvent.Lost(A, new LossCause.LeaseTaken(null, new Epoch(4)))))
        .isEqualTo(
            "lost: a stopped acting as owner: the lease is now held by no node (released) at epoch 4");
    assertThat(
            text(
                new HistoryEvent.Lost(
                    A,
                    new LossCause.RenewDeadlinePassed(
                        Duration.ofMillis(2612), Duration.ofMillis(2500)))))
        .isEqualTo(
            "lost: a stopped acting as owner: no successful lease renewal for 2612 ms (deadline"
                + " 2500 ms); resources stop before the lease can expire");
  }

  @Test
  void failuresOverTheLimitSayHowOftenTheRoleFailedOver() {
    var failover =
        new StepDownReason.Failover(
            "vip", new Failure.CheckTimedOut(Duration.ofMillis(500)), 2, Duration.ofMinutes(10));
    assertThat(
            text(
                new HistoryEvent.Released(
                    A,
                    null,
                    new StepDownReason.FailoverLimitReached(failover, 3, Duration.ofHours(1), 3))))
        .isEqualTo(
            "released: a released the role: vip did not answer its check within 500 ms; it was"
                + " restarted 2 times within 10 min; the role failed over 3 times within 1 h"
                + " (limit 3), so it is marked failed and waits for an operator");
    assertThat(text(new HistoryEvent.FailedOver(failover)))
        .isEqualTo(
            "failover: vip did not answer its check within 500 ms; it was restarted 2 times within"
                + " 10 min; failing the role over");
    assertThat(
            text(
                new HistoryEvent.ResourceRestart(
                    "vip",
                    new Failure.CheckFailed("exit 1"),
                    1,
                    2,
                    Duration.ofSeconds(90),
                    Duration.ofMillis(500))))
        .isEqualTo(
            "resource_restart: vip failed its check: exit 1; restarting it in place (1 of 2 within"
                + " 90 s, in 500 ms)");
  }
}
