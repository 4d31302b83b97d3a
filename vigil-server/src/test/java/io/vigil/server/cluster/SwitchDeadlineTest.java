package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SwitchDeadlineTest {

  @Test
  void nothingIsDueBeforeTheFirstArm() {
    SwitchDeadline d = new SwitchDeadline();
    assertThat(d.due(Long.MAX_VALUE)).isEqualTo(SwitchDeadline.NONE);
    assertThat(d.remaining(0)).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void itWasArmedOnceTheOwnerArmedItAndStaysSoAfterASweep() {
    SwitchDeadline d = new SwitchDeadline();
    assertThat(d.everArmed()).isFalse();
    d.arm(1, 1000);
    assertThat(d.everArmed()).isTrue();
    d.due(2000);
    assertThat(d.everArmed()).isTrue();
  }

  @Test
  void anEpochIsDueOnceWhenItsDeadlinePassesWithoutALaterArm() {
    SwitchDeadline d = new SwitchDeadline();
    d.arm(3, 1000);
    d.arm(3, 2000);
    assertThat(d.due(1999)).isEqualTo(SwitchDeadline.NONE);
    assertThat(d.remaining(1500)).isEqualTo(500);
    assertThat(d.due(2000)).isEqualTo(3);
    assertThat(d.due(5000)).as("once").isEqualTo(SwitchDeadline.NONE);
  }

  @Test
  void anArmForASweptEpochIsIgnored() {
    SwitchDeadline d = new SwitchDeadline();
    d.arm(3, 1000);
    assertThat(d.due(1000)).isEqualTo(3);
    d.arm(3, 9000);
    assertThat(d.remaining(1000)).isEqualTo(Long.MAX_VALUE);
    assertThat(d.due(9000)).isEqualTo(SwitchDeadline.NONE);
  }

  @Test
  void aNewEpochReplacesTheDeadlineAndAStaleOneCannotExtendIt() {
    SwitchDeadline d = new SwitchDeadline();
    d.arm(3, 1000);
    assertThat(d.due(1000)).isEqualTo(3);
    d.arm(5, 4000);
    d.arm(4, 9000);
    assertThat(d.due(3999)).isEqualTo(SwitchDeadline.NONE);
    assertThat(d.due(4000)).isEqualTo(5);
  }

  @Test
  void aLaterDeadlineForTheSameEpochNeverMovesItBack() {
    SwitchDeadline d = new SwitchDeadline();
    d.arm(2, 5000);
    d.arm(2, 3000);
    assertThat(d.due(4000)).isEqualTo(SwitchDeadline.NONE);
    assertThat(d.due(5000)).isEqualTo(2);
  }

  @Test
  void theDeadlineComparesCorrectlyAcrossTheClocksWrapAround() {
    SwitchDeadline d = new SwitchDeadline();
    long deadline = Long.MIN_VALUE + 10;
    d.arm(1, deadline);
    assertThat(d.due(Long.MAX_VALUE - 10)).isEqualTo(SwitchDeadline.NONE);
    assertThat(d.due(deadline)).isEqualTo(1);
  }
}
