package io.vigil.server.cli;

import java.util.concurrent.atomic.AtomicBoolean;
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
 * advice. Should the process be asked to end while the window is open (Ctrl+C, SIGTERM), a shutdown
 * hook turns maintenance off; only SIGKILL or a power loss leaves it on.
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

  /**
   * Runs an action when the process is asked to end (Ctrl+C, SIGTERM) while the window is open,
   * since a {@code finally} does not run then.
   */
  interface ExitHooks {
    /** Registers {@code onExit}; the returned action unregisters it. */
    Runnable add(Runnable onExit);

    /** The JVM's shutdown hooks. */
    ExitHooks RUNTIME =
        onExit -> {
          Thread hook = new Thread(onExit, "vigil-configure-maintenance-off");
          Runtime.getRuntime().addShutdownHook(hook);
          return () -> {
            try {
              Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
              // The JVM is shutting down already; the hook runs or has run.
            }
          };
        };
  }

  private final Switch maintenance;
  private final Consumer<String> say;
  private final Consumer<String> warn;
  private final ExitHooks hooks;

  /**
   * @param say progress lines (not printed with {@code --quiet})
   * @param warn warnings, always printed
   * @param hooks where to register turning maintenance off should the process be ended meanwhile
   */
  MaintenanceWindow(
      Switch maintenance, Consumer<String> say, Consumer<String> warn, ExitHooks hooks) {
    this.maintenance = maintenance;
    this.say = say;
    this.warn = warn;
    this.hooks = hooks;
  }

  <T> T around(Supplier<T> change) {
    boolean wasOn = maintenance.on();
    if (wasOn) {
      say.accept("Maintenance was on already; it stays on.");
    } else {
      maintenance.set(true);
      say.accept("Maintenance on: the cluster does not fail over while this machine changes.");
    }
    // Whoever comes first, the end of the change or the end of the process, turns it off, once.
    AtomicBoolean open = new AtomicBoolean(!wasOn);
    Runnable unhook =
        wasOn
            ? () -> {}
            : hooks.add(
                () -> {
                  if (open.compareAndSet(true, false)) {
                    end(new IllegalStateException("the configurator was interrupted"));
                  }
                });
    RuntimeException failure = null;
    try {
      return change.get();
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    } finally {
      unhook.run();
      if (open.compareAndSet(true, false)) {
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
