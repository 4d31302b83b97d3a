package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaintenanceWindowTest {

  /** A cluster's maintenance switch that records every call and can be made to fail. */
  static final class FakeSwitch implements MaintenanceWindow.Switch {
    boolean on;
    boolean failOn;
    boolean failOff;
    final List<String> calls = new ArrayList<>();

    FakeSwitch(boolean on) {
      this.on = on;
    }

    @Override
    public boolean on() {
      calls.add("read");
      return on;
    }

    @Override
    public void set(boolean value) {
      calls.add(value ? "on" : "off");
      if (value ? failOn : failOff) {
        throw new CliException(ExitCodes.UNREACHABLE, "unreachable", "Cannot connect.");
      }
      on = value;
    }
  }

  final List<String> said = new ArrayList<>();
  final List<String> warned = new ArrayList<>();

  /** Exit hooks the test runs itself, as the JVM would on Ctrl+C. */
  final List<Runnable> hooks = new ArrayList<>();

  MaintenanceWindow window(FakeSwitch s) {
    return new MaintenanceWindow(
        s,
        said::add,
        warned::add,
        onExit -> {
          hooks.add(onExit);
          return () -> hooks.remove(onExit);
        });
  }

  @Test
  void aProcessEndedDuringTheChangeTurnsMaintenanceOffOnceThroughItsExitHook() {
    FakeSwitch s = new FakeSwitch(false);

    window(s)
        .around(
            () -> {
              assertThat(hooks).hasSize(1);
              hooks.get(0).run(); // Ctrl+C: the JVM runs the hook while the change is under way
              assertThat(s.on).isFalse();
              return null;
            });

    assertThat(s.calls).containsExactly("read", "on", "off");
    assertThat(hooks).isEmpty();
  }

  @Test
  void noExitHookIsLeftOrAddedWhenMaintenanceWasOnAlready() {
    FakeSwitch s = new FakeSwitch(false);
    window(s).around(() -> null);
    assertThat(hooks).isEmpty();

    FakeSwitch already = new FakeSwitch(true);
    window(already)
        .around(
            () -> {
              assertThat(hooks).isEmpty();
              return null;
            });
    assertThat(already.on).isTrue();
  }

  @Test
  void turnsMaintenanceOnForTheChangeAndOffAfterIt() {
    FakeSwitch s = new FakeSwitch(false);
    List<Boolean> during = new ArrayList<>();

    String result =
        window(s)
            .around(
                () -> {
                  during.add(s.on);
                  return "done";
                });

    assertThat(result).isEqualTo("done");
    assertThat(during).containsExactly(true);
    assertThat(s.calls).containsExactly("read", "on", "off");
    assertThat(s.on).isFalse();
    assertThat(warned).isEmpty();
  }

  @Test
  void turnsMaintenanceOffAlsoWhenTheChangeFailsAndReportsTheChangesFailure() {
    FakeSwitch s = new FakeSwitch(false);
    CliException failure = new CliException(ExitCodes.CONFLICT, "version_conflict", "Changed.");

    assertThatThrownBy(
            () ->
                window(s)
                    .around(
                        () -> {
                          throw failure;
                        }))
        .isSameAs(failure);

    assertThat(s.calls).containsExactly("read", "on", "off");
    assertThat(s.on).isFalse();
  }

  @Test
  void leavesMaintenanceThatWasOnAlreadyOnAfterASuccess() {
    FakeSwitch s = new FakeSwitch(true);

    window(s).around(() -> "done");

    assertThat(s.calls).containsExactly("read");
    assertThat(s.on).isTrue();
    assertThat(said).anyMatch(line -> line.contains("was on already"));
  }

  @Test
  void leavesMaintenanceThatWasOnAlreadyOnAfterAFailure() {
    FakeSwitch s = new FakeSwitch(true);

    assertThatThrownBy(
            () ->
                window(s)
                    .around(
                        () -> {
                          throw new IllegalStateException("boom");
                        }))
        .hasMessage("boom");

    assertThat(s.calls).containsExactly("read");
    assertThat(s.on).isTrue();
  }

  @Test
  void aFailureToTurnMaintenanceOnRunsNoChange() {
    FakeSwitch s = new FakeSwitch(false);
    s.failOn = true;
    List<String> ran = new ArrayList<>();

    assertThatThrownBy(
            () ->
                window(s)
                    .around(
                        () -> {
                          ran.add("change");
                          return null;
                        }))
        .isInstanceOf(CliException.class);

    assertThat(ran).isEmpty();
    assertThat(s.calls).containsExactly("read", "on");
  }

  @Test
  void whenOnlyTurningMaintenanceOffFailsThatFailureSaysItIsStillOn() {
    FakeSwitch s = new FakeSwitch(false);
    s.failOff = true;

    assertThatThrownBy(() -> window(s).around(() -> "done"))
        .isInstanceOfSatisfying(
            CliException.class,
            e -> {
              assertThat(e.exitCode()).isEqualTo(ExitCodes.UNREACHABLE);
              assertThat(e.getMessage()).contains("vigil cluster maintenance off");
            });
  }

  @Test
  void whenBothTheChangeAndTurningOffFailTheChangesFailureWinsAndAWarningSaysItIsStillOn() {
    FakeSwitch s = new FakeSwitch(false);
    s.failOff = true;
    CliException failure = new CliException(ExitCodes.AUTHENTICATION, "signed_out", "Expired.");

    assertThatThrownBy(
            () ->
                window(s)
                    .around(
                        () -> {
                          throw failure;
                        }))
        .isSameAs(failure);

    assertThat(failure.getSuppressed()).hasSize(1);
    assertThat(warned).singleElement().asString().contains("vigil cluster maintenance off");
  }
}
