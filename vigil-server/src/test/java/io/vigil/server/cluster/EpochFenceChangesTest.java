package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Dialect;
import org.junit.jupiter.api.Test;

class EpochFenceChangesTest {

  @Test
  void takingOrLosingTheRoleMovesTheCountOfChangesAndKeepingItDoesNot() {
    EpochFence fence = new EpochFence(null, Dialect.H2, "node-1", why -> {});
    long start = fence.changes();
    fence.epoch(7);
    long owner = fence.changes();
    assertThat(owner).isGreaterThan(start);
    fence.epoch(7);
    assertThat(fence.changes()).as("still the owner at the same epoch").isEqualTo(owner);
    fence.epoch(-1);
    long lost = fence.changes();
    assertThat(lost).isGreaterThan(owner);
    fence.epoch(9);
    assertThat(fence.changes()).isGreaterThan(lost);
  }

  @Test
  void aWriteRefusedBeforeItBeganDoesNotMoveTheCount() {
    EpochFence fence = new EpochFence(null, Dialect.H2, "node-1", why -> {});
    long before = fence.changes();
    try {
      fence.run(h -> {});
    } catch (FencedException expected) {
      // Not the owner: refused before any transaction.
    }
    assertThat(fence.changes()).isEqualTo(before);
  }
}
