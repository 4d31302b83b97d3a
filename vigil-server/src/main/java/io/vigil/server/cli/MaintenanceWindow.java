package io.vigil.server.cli;

import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs a change inside the cluster's maintenance, as the seed's "pause the control and monitoring
 * of the service so the Server Configurator can make the changes" asks: maintenance is turned on
 * before the change and off after it, also when the change fails, and only by the window that
 * turned it on. Maintenance that was on already (an operator's) is left on.
 *
 * <p>When both the change and turning maintenance off fail, the change's failure is the one
 * reported and the other is added to it as suppressed, after {@code warn} said that maintenance is
 * still on and how to end it. When only turning it off fails, that failure is thrown with the same
 * advice.
 */
final class MaintenanceWindow {

  /**
   * The cluster's maintenance switch ({@code GET /api/v1/cluster}, {@code PUT .../maintenance}).
   */
  interface Switch {
    boolean on();

    void set(boolean on);
  }

  /** Said when maintenance stays on because this window could not turn it off. */
  static final String STILL_ON =
      "Maintenance is still on: end it with \"vigil cluster maintenance off\" once the cluster is"
          + " reachable.";

  private final Switch maintenance;
  private final Consumer<String> say;
  private final Consumer<String> warn;

  /**
   * @param say progress lines (not printed with {@code --quiet})
   * @param warn warnings, always printed
   */
  MaintenanceWindow(Switch maintenance, Consumer<String> say, Consumer<String> warn) {
    this.maintenance = maintenance;
    this.say = say;
    this.warn = warn;
  }

  <T> T around(Supplier<T> change) {
    boolean wasOn = maintenance.on();
    if (wasOn) {
      say.accept("Maintenance was on already; it stays on.");
    } else {
      maintenance.set(true);
      say.accept("Maintenance on: the cluster does not fail over while this machine changes.");
    }
    RuntimeException failure = null;
    try {
      return change.get();
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    } finally {
      if (!wasOn) {
        end(failure);
      }
    }
  }

  private void end(RuntimeException failure) {
    try {
      maintenance.set(false);
      say.accept("Maintenance off: the cluster is monitored and fails over again.");
    } catch (RuntimeException e) {
      if (failure == null) {
        throw e instanceof CliException c
            ? new CliException(c.exitCode(), c.code(), c.getMessage() + " " + STILL_ON)
            : e;
      }
      warn.accept("could not turn maintenance off (" + e.getMessage() + "). " + STILL_ON);
      failure.addSuppressed(e);
    }
  }
}
