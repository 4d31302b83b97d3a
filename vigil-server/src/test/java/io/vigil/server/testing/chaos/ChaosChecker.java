package io.vigil.server.testing.chaos;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Checks a chaos run's history after the fact, Jepsen-style: it gets every client operation with
 * its outcome and what the cluster stored at the end, and lists every violation of what Vigil
 * guarantees. Pure: no I/O, no clock.
 */
public final class ChaosChecker {

  private ChaosChecker() {}

  /**
   * @param ops every operation of the run
   * @param stored the keys of every object stored at the end, duplicates included
   * @param twoActiveRounds the sampling rounds in which two nodes answered 200 on {@code
   *     /cluster/active}
   * @param resourceOverlaps the samples at which a generic resource's process ran on two nodes
   * @return the violations, empty when the run kept every guarantee
   */
  public static List<String> check(
      List<Op> ops,
      Collection<String> stored,
      List<String> twoActiveRounds,
      List<String> resourceOverlaps) {
    List<String> violations = new ArrayList<>();
    List<Op> acknowledged =
        ops.stream()
            .filter(o -> o.kind() == Op.Kind.WRITE && o.outcome() == Op.Outcome.OK)
            .toList();

    Set<String> storedSet = new HashSet<>(stored);
    for (Op op : acknowledged) {
      if (!storedSet.contains(op.key())) {
        violations.add("acknowledged write lost: " + op.key());
      }
    }
    Map<String, Integer> counts = new HashMap<>();
    for (String key : stored) {
      if (counts.merge(key, 1, Integer::sum) == 2) {
        violations.add("stored twice: " + key);
      }
    }
    Set<String> attempted = new HashSet<>();
    ops.stream().filter(o -> o.kind() == Op.Kind.WRITE).forEach(o -> attempted.add(o.key()));
    for (String key : storedSet) {
      if (!attempted.contains(key)) {
        violations.add("stored but never written: " + key);
      }
    }
    violations.addAll(staleEpochs(acknowledged));
    for (Op op : ops) {
      if (op.kind() == Op.Kind.REFRESH && op.outcome() == Op.Outcome.SESSION_LOST) {
        violations.add("client session lost: a refresh was rejected (" + op.detail() + ")");
      }
    }
    twoActiveRounds.forEach(r -> violations.add("two nodes answered 200 on /cluster/active: " + r));
    resourceOverlaps.forEach(r -> violations.add("a generic resource ran on two nodes: " + r));
    return violations;
  }

  /**
   * Writes acknowledged under an epoch older than one already acknowledged before they were sent:
   * epochs only grow, so such a write committed under a stale epoch. A write without a reported
   * epoch is a violation too: every fenced write reports one.
   */
  static List<String> staleEpochs(List<Op> acknowledged) {
    List<String> violations = new ArrayList<>();
    List<Op> byStart = new ArrayList<>(acknowledged);
    byStart.sort(Comparator.comparingLong(Op::startNanos));
    PriorityQueue<Op> byEnd = new PriorityQueue<>(Comparator.comparingLong(Op::endNanos));
    byEnd.addAll(acknowledged);
    long newestEnded = Long.MIN_VALUE;
    String newestKey = null;
    for (Op op : byStart) {
      while (!byEnd.isEmpty() && byEnd.peek().endNanos() < op.startNanos()) {
        Op ended = byEnd.poll();
        if (ended.epoch() != null && ended.epoch() > newestEnded) {
          newestEnded = ended.epoch();
          newestKey = ended.key();
        }
      }
      if (op.epoch() == null) {
        violations.add("acknowledged write without an epoch: " + op.key());
      } else if (op.epoch() < newestEnded) {
        violations.add(
            "write "
                + op.key()
                + " committed under epoch "
                + op.epoch()
                + " after "
                + newestKey
                + " had committed under epoch "
                + newestEnded);
      }
    }
    return violations;
  }
}
