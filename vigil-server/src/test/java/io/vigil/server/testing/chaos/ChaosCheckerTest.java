package io.vigil.server.testing.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.chaos.Op.Kind;
import io.vigil.server.testing.chaos.Op.Outcome;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChaosCheckerTest {

  private static Op write(String key, long start, long end, Outcome outcome, Long epoch) {
    return new Op(Kind.WRITE, key, start, end, outcome, epoch, "");
  }

  @Test
  void aRunThatKeptEveryGuaranteeHasNoViolations() {
    List<Op> ops =
        List.of(
            write("a", 0, 10, Outcome.OK, 1L),
            write("b", 5, 20, Outcome.UNKNOWN, null),
            write("c", 30, 40, Outcome.OK, 2L),
            write("d", 35, 38, Outcome.FAIL, null));
    // b's outcome was unknown: stored or not, both are fine.
    assertThat(ChaosChecker.check(ops, List.of("a", "b", "c"), List.of(), List.of())).isEmpty();
    assertThat(ChaosChecker.check(ops, List.of("a", "c"), List.of(), List.of())).isEmpty();
  }

  @Test
  void anAcknowledgedWriteMissingAtTheEndIsLost() {
    List<Op> ops = List.of(write("a", 0, 10, Outcome.OK, 1L), write("b", 20, 30, Outcome.OK, 1L));
    assertThat(ChaosChecker.check(ops, List.of("a"), List.of(), List.of()))
        .containsExactly("acknowledged write lost: b");
  }

  @Test
  void aWriteStoredTwiceOrNeverSentIsAViolation() {
    List<Op> ops = List.of(write("a", 0, 10, Outcome.OK, 1L));
    assertThat(ChaosChecker.check(ops, List.of("a", "a", "z"), List.of(), List.of()))
        .containsExactlyInAnyOrder("stored twice: a", "stored but never written: z");
  }

  @Test
  void aWriteAcknowledgedUnderAnOlderEpochAfterANewerOneCommittedIsStale() {
    List<Op> ops =
        List.of(
            write("a", 0, 10, Outcome.OK, 2L),
            write("b", 20, 30, Outcome.OK, 1L),
            // Overlapping a: its order against a is unknown, so its older epoch is no evidence.
            write("c", 5, 15, Outcome.OK, 1L));
    assertThat(ChaosChecker.check(ops, List.of("a", "b", "c"), List.of(), List.of()))
        .containsExactly("write b committed under epoch 1 after a had committed under epoch 2");
  }

  @Test
  void anAcknowledgedWriteWithoutAnEpochIsAViolation() {
    List<Op> ops = List.of(write("a", 0, 10, Outcome.OK, null));
    assertThat(ChaosChecker.check(ops, List.of("a"), List.of(), List.of()))
        .containsExactly("acknowledged write without an epoch: a");
  }

  @Test
  void aRejectedRefreshTwoActiveNodesAndAResourceOnTwoNodesAreViolations() {
    List<Op> ops =
        List.of(new Op(Kind.REFRESH, "t1", 0, 5, Outcome.SESSION_LOST, null, "400 invalid_grant"));
    assertThat(
            ChaosChecker.check(
                ops, List.of(), List.of("12:00:00.020 [node-1, node-2]"), List.of("x=1 y=2")))
        .containsExactly(
            "client session lost: a refresh was rejected (400 invalid_grant)",
            "two nodes answered 200 on /cluster/active: 12:00:00.020 [node-1, node-2]",
            "a generic resource ran on two nodes: x=1 y=2");
  }
}
