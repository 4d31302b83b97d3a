package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.events.EventStore;
import io.vigil.server.testing.TestDatabases;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** On H2; {@link ProtectionWatchPostgresIT} runs the same on PostgreSQL. */
class ProtectionWatchTest {

  Database db;
  ProtectionWatch watch;

  Database openDatabase() {
    return TestDatabases.h2();
  }

  @BeforeEach
  void open() {
    db = openDatabase();
    watch = new ProtectionWatch(Fence.unfenced(db.jdbi()), EventStore.siteEvents());
  }

  @AfterEach
  void close() {
    db.close();
  }

  /** What a node's ProtectionMonitor publishes. */
  void published(String node, boolean eligible, String problem) {
    db.jdbi()
        .useHandle(
            h -> {
              int n =
                  h.createUpdate(
                          "UPDATE cluster_node_checks SET eligible = :e, problem = :p WHERE node ="
                              + " :n")
                      .bind("e", eligible)
                      .bind("p", problem)
                      .bind("n", node)
                      .execute();
              if (n == 0) {
                h.createUpdate(
                        "INSERT INTO cluster_node_checks (node, checked_at, eligible, problem,"
                            + " report) VALUES (:n, CURRENT_TIMESTAMP, :e, :p, '{}')")
                    .bind("e", eligible)
                    .bind("p", problem)
                    .bind("n", node)
                    .execute();
              }
            });
  }

  List<Map<String, Object>> raised() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT source, severity, message FROM events WHERE type ="
                            + " 'dataprotection.key.unwrap_failed' ORDER BY id")
                    .mapToMap()
                    .list());
  }

  @Test
  void aNodeThatCannotOpenTheKeyRingIsRaisedOncePerProblem() {
    published("vigil-1", true, null);
    published("vigil-2", false, "key 3 cannot be unwrapped: no private key for its certificate");

    assertThat(watch.check()).isEqualTo(1);
    assertThat(watch.check()).as("the same problem again").isZero();
    List<Map<String, Object>> events = raised();
    assertThat(events).hasSize(1);
    assertThat(events.get(0).get("source")).isEqualTo("node:vigil-2");
    assertThat(events.get(0).get("severity")).isEqualTo("critical");
    assertThat(events.get(0).get("message").toString()).contains("key 3 cannot be unwrapped");

    published("vigil-2", false, "the certificate expired");
    assertThat(watch.check()).as("a different problem").isEqualTo(1);
    assertThat(raised()).hasSize(2);
  }

  @Test
  void aNodeThatRecoversIsRaisedAgainWhenItFailsAgain() {
    published("vigil-2", false, "key 3 cannot be unwrapped");
    assertThat(watch.check()).isEqualTo(1);
    published("vigil-2", true, null);
    assertThat(watch.check()).isZero();
    published("vigil-2", false, "key 3 cannot be unwrapped");
    assertThat(watch.check()).isEqualTo(1);
    assertThat(raised()).hasSize(2);
  }
}
