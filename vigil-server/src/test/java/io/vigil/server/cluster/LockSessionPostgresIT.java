package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.db.Database;
import io.vigil.server.db.DatabaseException;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.PgBouncer;
import io.vigil.server.testing.TestDatabases;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

/**
 * The advisory lock proves an owner's process ended only when it is a session of its own on the
 * server that holds the lease: a pooler in between, or a lock on another server, is refused.
 */
class LockSessionPostgresIT {

  private final String url = TestDatabases.postgresUrl();
  private final String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
  private final int pgPort = TestDatabases.postgresServer().getPort();

  private static LeaseStore store(Database db, String lockUrl) throws Exception {
    LeaseStore s =
        new LeaseStore(
            db.dataSource(),
            Dialect.POSTGRESQL,
            "a",
            "instance-a",
            ClusterTiming.DEFAULT,
            lockUrl,
            "postgres",
            null,
            () -> true);
    assertThat(s.register("http://127.0.0.1:1/a", "test")).isNull();
    return s;
  }

  private boolean ownerHasLock() throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", null);
        ResultSet rs =
            c.createStatement().executeQuery("SELECT owner_has_lock FROM cluster_lease")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private long tables() throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", null);
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void aDatabaseUrlThroughATransactionPoolerIsRefusedAndNothingIsCreated() throws Exception {
    try (PgBouncer bouncer = PgBouncer.start("transaction", pgPort)) {
      assertThatThrownBy(() -> Database.open(bouncer.jdbcUrl(database), "postgres", null, 2, null))
          .isInstanceOf(DatabaseException.class)
          .hasMessageContaining("connection pooler")
          .hasMessageContaining("point database.url at the server itself");
    }
    assertThat(tables()).as("tables created through the pooler").isZero();
  }

  @Test
  void aLockConnectionThroughAPoolerTakesNoLock() throws Exception {
    try (Database db = Database.open(url, "postgres", null, 2, null);
        PgBouncer bouncer = PgBouncer.start("transaction", pgPort)) {
      LeaseStore s = store(db, bouncer.jdbcUrl(database));
      try {
        assertThat(s.tryLock()).isFalse();
        assertThat(s.acquire(AcquireMode.FREE, null, Epoch.NONE)).isEqualTo(new Epoch(1));
        assertThat(ownerHasLock()).isFalse();
      } finally {
        s.close();
      }
    }
  }

  @Test
  void aLockOnAnotherServerThanTheLeaseIsLetGoAndNotRecordedAsHeld() throws Exception {
    try (EmbeddedPostgres other = EmbeddedPostgres.start();
        Database db = Database.open(url, "postgres", null, 2, null)) {
      LeaseStore s = store(db, other.getJdbcUrl("postgres", "postgres"));
      try {
        Epoch epoch = s.acquire(AcquireMode.FREE, null, Epoch.NONE);
        assertThat(epoch).isEqualTo(new Epoch(1));
        assertThat(ownerHasLock()).as("lock recorded at acquire").isFalse();
        assertThat(s.holdsLock()).isFalse();
        assertThat(s.renew(epoch)).isTrue();
        assertThat(ownerHasLock()).as("lock recorded at renewal").isFalse();
        assertThat(s.holdsLock()).isFalse();
      } finally {
        s.close();
      }
    }
  }

  @Test
  void aLockOnTheLeasesServerIsRecordedAsHeld() throws Exception {
    try (Database db = Database.open(url, "postgres", null, 2, null)) {
      LeaseStore s = store(db, url);
      try {
        Epoch epoch = s.acquire(AcquireMode.FREE, null, Epoch.NONE);
        assertThat(ownerHasLock()).isTrue();
        assertThat(s.renew(epoch)).isTrue();
        assertThat(ownerHasLock()).isTrue();
        assertThat(s.holdsLock()).isTrue();
      } finally {
        s.close();
      }
    }
  }
}
