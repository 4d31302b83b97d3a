package io.vigil.server.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.testing.TcpProxy;
import io.vigil.server.testing.TestDatabases;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** No request hangs on a database that stopped answering. */
class DatabaseSocketTimeoutPostgresIT {

  @Test
  void aQueryOnAFrozenDatabaseLinkFailsWithinThePoolsSocketTimeout() throws Exception {
    String url = TestDatabases.postgresUrl();
    String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
    try (TcpProxy proxy = new TcpProxy("127.0.0.1", TestDatabases.postgresServer().getPort())) {
      Database db =
          Database.open(
              "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database,
              "postgres",
              null,
              2,
              null,
              Duration.ofSeconds(2));
      try {
        assertThat(db.now()).isNotNull();
        proxy.freeze();
        long t0 = System.nanoTime();
        CompletableFuture<Object> query = CompletableFuture.supplyAsync(db::now);
        assertThatThrownBy(() -> query.get(15, TimeUnit.SECONDS))
            .as("the query fails instead of hanging")
            .hasMessageContaining("I/O error");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(6000);
        proxy.unfreeze();
      } finally {
        db.close();
      }
    }
  }

  @Test
  void everyPostgresPoolHasASocketTimeoutByDefault() {
    Database db = Database.open(TestDatabases.postgresUrl(), "postgres", null, 2, null);
    try {
      var ds = (com.zaxxer.hikari.HikariDataSource) db.dataSource();
      assertThat(ds.getDataSourceProperties().getProperty("socketTimeout"))
          .isEqualTo(Long.toString(Database.SOCKET_TIMEOUT.toSeconds()));
    } finally {
      db.close();
    }
  }
}
