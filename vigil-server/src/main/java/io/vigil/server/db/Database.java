package io.vigil.server.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/**
 * The node's connection to its database: a connection pool, the schema migrated to the current
 * version, and a {@link Jdbi} on top. The same migrations run on H2 (single server) and PostgreSQL
 * (cluster).
 */
public final class Database implements AutoCloseable {

  private final HikariDataSource dataSource;
  private final Jdbi jdbi;
  private final Dialect dialect;

  private final boolean migrated;

  private Database(HikariDataSource dataSource, Dialect dialect, boolean migrated) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.migrated = migrated;
    this.jdbi = Jdbi.create(dataSource);
  }

  /** Opens the pool and migrates the schema. */
  public static Database open(String url, String user, String password, int poolSize) {
    return open(url, user, password, poolSize, null);
  }

  /**
   * @param applicationName the name its PostgreSQL sessions show in {@code pg_stat_activity}, or
   *     null
   */
  public static Database open(
      String url, String user, String password, int poolSize, String applicationName) {
    return open(url, user, password, poolSize, applicationName, SOCKET_TIMEOUT);
  }

  /**
   * How long a PostgreSQL connection of the request pool waits for the server before it gives up:
   * no request hangs on a primary that died or a link that froze. Requests' statements are small
   * (fenced writes are cut at 2 s by their statement timeout); a URL that names {@code
   * socketTimeout} itself overrides this.
   */
  public static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(10);

  static Database open(
      String url,
      String user,
      String password,
      int poolSize,
      String applicationName,
      Duration socketTimeout) {
    Dialect dialect = Dialect.fromUrl(url);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    if (user != null) {
      config.setUsername(user);
    }
    if (password != null) {
      config.setPassword(password);
    }
    config.setMaximumPoolSize(poolSize);
    config.setMinimumIdle(Math.min(2, poolSize));
    config.setPoolName("vigil-db");
    config.setConnectionTimeout(5_000);
    config.setInitializationFailTimeout(-1);
    if (applicationName != null && dialect == Dialect.POSTGRESQL) {
      config.addDataSourceProperty("ApplicationName", applicationName);
    }
    if (dialect == Dialect.POSTGRESQL) {
      config.addDataSourceProperty("socketTimeout", Long.toString(socketTimeout.toSeconds()));
      config.addDataSourceProperty("connectTimeout", "5");
      config.addDataSourceProperty("tcpKeepAlive", "true");
    }
    HikariDataSource ds = new HikariDataSource(config);
    if (dialect == Dialect.POSTGRESQL) {
      String problem;
      try (java.sql.Connection c = ds.getConnection()) {
        problem = proxyProblem(c);
      } catch (java.sql.SQLException | RuntimeException e) {
        // Unreachable now: Flyway below reports it the usual way.
        problem = null;
      }
      if (problem != null) {
        ds.close();
        throw new DatabaseException("The database URL " + redact(url) + " " + problem, null);
      }
    }
    // Flyway only when the schema is not exactly at this build's migrations (a new database, one
    // behind or ahead, a failed or edited migration): on a current schema it would change nothing
    // and costs a good part of the start (see SchemaCheck).
    if (SchemaCheck.isCurrent(ds, Database.class.getClassLoader())) {
      return new Database(ds, dialect, false);
    }
    try {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:" + SchemaCheck.LOCATION)
          .validateMigrationNaming(true)
          .load()
          .migrate();
    } catch (RuntimeException e) {
      ds.close();
      throw new DatabaseException(
          "Cannot prepare the database at "
              + redact(url)
              + ": "
              + rootMessage(e)
              + ". Check that the database is reachable and the user may create tables.",
          e);
    }
    return new Database(ds, dialect, true);
  }

  /** Whether {@link #open} ran Flyway's migrate (false: the schema was current already). */
  boolean migrated() {
    return migrated;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  public Dialect dialect() {
    return dialect;
  }

  public javax.sql.DataSource dataSource() {
    return dataSource;
  }

  /** The database's clock; Vigil trusts it over any node's clock. */
  public Instant now() {
    return jdbi.withHandle(
        h -> h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant());
  }

  @Override
  public void close() {
    dataSource.close();
  }

  /**
   * Why a PostgreSQL connection is not a session of its own on the server, or null. PostgreSQL
   * announces its backend's process id when a connection opens; a pooler or proxy (PgBouncer,
   * Pgpool-II) announces an id of its own, so a mismatch with {@code pg_backend_pid()} shows one is
   * in between. Vigil refuses that: the cluster's advisory lock is a session lock, which a
   * transaction-pooling proxy shares between clients (a probe through it can even "get" a lock
   * another node holds), and which a proxy keeps alive after the process that took it died.
   */
  public static String proxyProblem(java.sql.Connection c) throws java.sql.SQLException {
    int announced = c.unwrap(org.postgresql.PGConnection.class).getBackendPID();
    int actual;
    try (java.sql.Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      actual = rs.getInt(1);
    }
    if (announced == actual) {
      return null;
    }
    return "reaches PostgreSQL through a connection pooler or proxy (the server process that"
        + " answers, "
        + actual
        + ", is not the one announced when the connection opened, "
        + announced
        + "). Vigil's failover lock needs sessions of its own on the PostgreSQL server: point"
        + " database.url at the server itself, not at PgBouncer or another pooler.";
  }

  static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^;&]*", "$1***");
  }

  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage();
  }
}
