package io.vigil.server.testing;

import io.vigil.server.db.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Databases for tests: a fresh in-memory H2 per call, or a fresh database in one real PostgreSQL
 * server started once per test JVM.
 */
public final class TestDatabases {

  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static EmbeddedPostgres postgres;

  private TestDatabases() {}

  public static String h2Url() {
    return "jdbc:h2:mem:test"
        + COUNTER.incrementAndGet()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";
  }

  public static Database h2() {
    return Database.open(h2Url(), null, null, 4);
  }

  /** The shared PostgreSQL server, started on first use and stopped when the JVM exits. */
  public static synchronized EmbeddedPostgres postgresServer() {
    if (postgres == null) {
      try {
        postgres = EmbeddedPostgres.start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      EmbeddedPostgres started = postgres;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      started.close();
                    } catch (IOException ignored) {
                      // the JVM is exiting
                    }
                  }));
    }
    return postgres;
  }

  /** A JDBC URL of a new, empty database on the shared PostgreSQL server. */
  public static String postgresUrl() {
    String name = "vigil_test_" + COUNTER.incrementAndGet();
    EmbeddedPostgres pg = postgresServer();
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return pg.getJdbcUrl("postgres", name);
  }

  public static Database postgres() {
    return Database.open(postgresUrl(), "postgres", null, 4);
  }
}
