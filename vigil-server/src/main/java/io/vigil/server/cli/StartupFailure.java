package io.vigil.server.cli;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.Settings;
import io.vigil.server.db.DatabaseException;
import io.vigil.server.node.Node;
import io.vigil.server.protect.ProtectionException;
import java.net.BindException;

/**
 * Starts a node and turns the failures an operator must fix into a {@link CliException}: one line,
 * exit code 1. Anything else is a bug and keeps its stack trace.
 */
final class StartupFailure {

  private StartupFailure() {}

  static Node start(Settings settings) {
    try {
      return Node.start(settings);
    } catch (RuntimeException e) {
      CliException known = explain(e, settings);
      if (known != null) {
        throw known;
      }
      throw e;
    }
  }

  /**
   * The operator-facing explanation of a start-up failure, or null for an unexpected one.
   *
   * @param settings the settings the node was started with, null when loading them failed
   */
  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  static CliException explain(Throwable failure, Settings settings) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConfigException
          || t instanceof DatabaseException
          || t instanceof ProtectionException) {
        return new CliException(ExitCodes.ERROR, null, t.getMessage());
      }
      if (t instanceof BindException) {
        return new CliException(
            ExitCodes.ERROR,
            "port_in_use",
            "Cannot listen on "
                + (settings == null
                    ? "the HTTP port"
                    : settings.http.host + ":" + settings.http.port)
                + " ("
                + t.getMessage()
                + "): another process uses the port. Stop it, or choose another with --http-port,"
                + " VIGIL_HTTP_PORT or Http.Port.");
      }
    }
    return null;
  }
}
