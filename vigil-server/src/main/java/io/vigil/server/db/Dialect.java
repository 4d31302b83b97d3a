package io.vigil.server.db;

/** The two databases Vigil runs on, and the few SQL fragments that differ between them. */
public enum Dialect {
  H2,
  POSTGRESQL;

  public static Dialect fromUrl(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      return H2;
    }
    if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      return POSTGRESQL;
    }
    throw new IllegalArgumentException(
        "Database URL \""
            + jdbcUrl
            + "\" is not supported: use jdbc:postgresql://host/db for a cluster or leave it empty"
            + " for the embedded database.");
  }

  /**
   * The row lock a reader takes to keep a row from changing under it. H2 has no FOR SHARE, so it
   * takes the stronger FOR UPDATE.
   */
  public String forShare() {
    return this == POSTGRESQL ? "FOR SHARE" : "FOR UPDATE";
  }

  /** The database's current time plus {@code millis} (a trusted number, not user input). */
  public String nowPlusMillis(long millis) {
    return this == POSTGRESQL
        ? "(CURRENT_TIMESTAMP + " + millis + " * INTERVAL '1 millisecond')"
        : "DATEADD(MILLISECOND, " + millis + ", CURRENT_TIMESTAMP)";
  }

  /**
   * The database's current time minus a number of seconds given as a SQL expression (trusted: a
   * column or a constant, never user input).
   */
  public String nowMinusSeconds(String secondsExpression) {
    return this == POSTGRESQL
        ? "(CURRENT_TIMESTAMP - (" + secondsExpression + ") * INTERVAL '1 second')"
        : "DATEADD(SECOND, -(" + secondsExpression + "), CURRENT_TIMESTAMP)";
  }

  /**
   * A query that runs {@code update} and returns the changed rows, whole, in one statement: {@code
   * RETURNING} on PostgreSQL, a data change delta table on H2.
   */
  public String updateReturningRows(String update) {
    return this == POSTGRESQL
        ? update + " RETURNING *"
        : "SELECT * FROM FINAL TABLE (" + update + ")";
  }
}
