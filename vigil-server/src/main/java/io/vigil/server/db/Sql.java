package io.vigil.server.db;

import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/** Small helpers for reading rows and recognising constraint violations on both databases. */
public final class Sql {

  private Sql() {}

  /** True when {@code e} (or a cause) is a unique-constraint violation (SQLSTATE 23505). */
  public static boolean isUniqueViolation(Throwable e) {
    return hasState(e, "23505");
  }

  /** True when {@code e} (or a cause) is a foreign-key violation (SQLSTATE 23503 / H2 23506). */
  public static boolean isForeignKeyViolation(Throwable e) {
    return hasState(e, "23503") || hasState(e, "23506");
  }

  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  private static boolean hasState(Throwable e, String state) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql && state.equals(sql.getSQLState())) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  public static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
  }
}
