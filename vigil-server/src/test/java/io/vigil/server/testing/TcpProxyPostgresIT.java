package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy in front of a real PostgreSQL: what a node sees when its database link freezes. */
class TcpProxyPostgresIT {

  private TcpProxy proxy;

  @BeforeEach
  void start() {
    proxy = new TcpProxy("127.0.0.1", TestDatabases.postgresServer().getPort());
  }

  @AfterEach
  void stop() {
    proxy.close();
  }

  private String url(String options) {
    return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?user=postgres" + options;
  }

  @Test
  void frozenLinkMakesAQueryFailWithinTheSocketTimeoutAndUnfreezingRestoresService()
      throws SQLException {
    try (Connection connection = DriverManager.getConnection(url("&socketTimeout=1"))) {
      assertThat(selectOne(connection)).isEqualTo(1);

      proxy.freeze();
      long began = System.nanoTime();
      assertThatThrownBy(() -> selectOne(connection))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("I/O error");
      long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
      assertThat(tookMillis).isBetween(900L, 2_000L);
      // The driver gives up on a connection whose socket timed out.
      assertThat(connection.isClosed()).isTrue();
    }

    proxy.unfreeze();
    try (Connection connection = DriverManager.getConnection(url("&socketTimeout=1"))) {
      assertThat(selectOne(connection)).isEqualTo(1);
    }
  }

  @Test
  void heldQueryCompletesWhenTheLinkThawsBeforeAnyTimeout() throws Exception {
    try (Connection connection = DriverManager.getConnection(url(""))) {
      assertThat(selectOne(connection)).isEqualTo(1);

      proxy.freeze();
      Thread thaw =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      Thread.sleep(500);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                    proxy.unfreeze();
                  });
      long began = System.nanoTime();
      assertThat(selectOne(connection)).isEqualTo(1);
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)).isGreaterThan(400);
      thaw.join();
    }
  }

  @Test
  void cutAllBreaksTheConnection() throws SQLException {
    try (Connection connection = DriverManager.getConnection(url(""))) {
      assertThat(selectOne(connection)).isEqualTo(1);

      proxy.cutAll();

      assertThatThrownBy(() -> selectOne(connection)).isInstanceOf(SQLException.class);
    }
  }

  private static int selectOne(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT 1")) {
      rows.next();
      return rows.getInt(1);
    }
  }
}
