package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.vigil.server.config.SettingsLoader;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The failover controller reads and writes through its own connections only: when the API's
 * connection pool is exhausted (a storm of registrations), the owner still renews its lease.
 * Everything the controller's database worker calls must stay off that pool, or a renewal waits
 * behind a read that waits for a connection, and the owner gives the role up under load.
 */
class ControllerIsolationTest {

  @TempDir Path dataDir;
  private Node node;
  private final List<Connection> held = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (Connection c : held) {
      c.close();
    }
    if (node != null) {
      node.close();
    }
  }

  @Test
  void theOwnerKeepsTheRoleWhileEveryConnectionOfTheApisPoolIsTaken() throws Exception {
    var settings =
        SettingsLoader.load(
            dataDir,
            Map.of(
                "VIGIL_ADMIN_PASSWORD",
                "Correct-Horse-Battery-9",
                "VIGIL_MACHINE_KEY_FILE",
                dataDir.resolve("machine.key").toString()),
            new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    node = Node.start(settings);
    await().atMost(Duration.ofSeconds(30)).until(node::isActive);
    HikariDataSource pool = (HikariDataSource) node.database().dataSource();

    for (int i = 0; i < pool.getMaximumPoolSize(); i++) {
      held.add(pool.getConnection());
    }
    // Longer than the renew deadline (2.5 s) and the pool's wait for a connection together.
    long until = System.nanoTime() + Duration.ofSeconds(9).toNanos();
    while (System.nanoTime() < until) {
      assertThat(node.isActive()).as("the node still owns the role").isTrue();
      Thread.sleep(100);
    }
  }
}
