package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CommandOutputTest {

  @Test
  void hidingReplacesEachOutputAndKeepsTheRestOfTheMessage() {
    String message =
        "start command of resource a exited with 1, output "
            + CommandOutput.quote("token=abc")
            + "; check command exited with 2, output "
            + CommandOutput.quote("pw=x");

    assertThat(CommandOutput.hide(message))
        .isEqualTo(
            "start command of resource a exited with 1, output "
                + CommandOutput.HIDDEN
                + "; check command exited with 2, output "
                + CommandOutput.HIDDEN);
  }

  @Test
  void outputThatContainsTheMarkersCannotEscapeHiding() {
    String message = "exited with 1, output " + CommandOutput.quote("a» secret «b");

    assertThat(CommandOutput.hide(message)).doesNotContain("secret");
  }

  @Test
  void anOutputWhoseEndWasCutOffIsHiddenToTheEnd() {
    assertThat(CommandOutput.hide("exited with 1, output «token=abc"))
        .isEqualTo("exited with 1, output " + CommandOutput.HIDDEN);
  }

  @Test
  void aMessageWithoutOutputStaysAsItIs() {
    assertThat(CommandOutput.hide("lease expired on node-2")).isEqualTo("lease expired on node-2");
    assertThat(CommandOutput.hide(null)).isNull();
  }
}
