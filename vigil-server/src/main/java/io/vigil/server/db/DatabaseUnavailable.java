package io.vigil.server.db;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Set;

/**
 * Tells failures of the database's availability (no connection, a connection lost, the server
 * shutting down or starting, a statement that ran out of time) from failures of a request. The
 * former answer 503 {@code database_unavailable} with {@code Retry-After}, as a client can do
 * nothing but retry, and are logged as a warning without a stack trace; the latter stay errors.
 */
public final class DatabaseUnavailable {

  /**
   * SQLSTATEs of an unavailable database beyond class 08 (connection exception): query canceled
   * (the statement timeout), administrator or crash shutdown, cannot connect now (starting up), and
   * the server's serialization failure and deadlock, which a retry resolves.
   */
  private static final Set<String> STATES =
      Set.of("57014", "57P01", "57P02", "57P03", "40001", "40P01");

  private DatabaseUnavailable() {}

  /** Whether {@code failure} or one of its causes says the database is unavailable now. */
  public static boolean causedBy(Throwable failure) {
    int depth = 0;
    for (Throwable t = failure; t != null && depth < 20; t = t.getCause(), depth++) {
      if (t instanceof SQLTransientConnectionException) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (state.startsWith("08") || STATES.contains(state)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The innermost cause's message, for a log line that names what happened without a trace. */
  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  public static String reason(Throwable failure) {
    Throwable root = failure;
    int depth = 0;
    while (root.getCause() != null && root.getCause() != root && depth++ < 20) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }
}
