package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.ActiveSampler;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.ResourceProcessSampler;
import io.vigil.server.testing.TcpProxy;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Crashes, hangs, cut-offs and database restarts, with real processes and PostgreSQL. */
class FailoverIT extends ClusterIT {

  @Test
  void killingTheActiveNodeFailsOverFastAndItsTokensStayValid() {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(3)) {
      ActiveSampler sampler = cluster.sampler();
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      // The fast path deposes a dead owner only if it renewed after the standby's lock session
      // opened (a database restart ends every session too, docs/cluster.md): wait until both
      // standbys are up, then past one renewal.
      await(
          "both standbys are up",
          Duration.ofSeconds(30),
          () -> {
            int standbys = 0;
            for (var node : status(owner, token).get("nodes")) {
              standbys += "standby".equals(node.get("state").asText()) ? 1 : 0;
            }
            return standbys == 2;
          });
      sleep(1500);
      long t0 = System.nanoTime();
      owner.kill();
      NodeProcess next = awaitServing(cluster, token, Duration.ofSeconds(10));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(next).isNotSameAs(owner);
      assertThat(ms).as("kill -9 failover in ms").isLessThan(4000);
      assertThat(history(next, token)).contains("its lock was released");
      sampler.close();
      assertNeverTwoActive(sampler);
    }
  }

  @Test
  void anOwnerWhoseLockSessionIsTerminatedKeepsTheRoleAndNoOtherNodeAnswersActive()
      throws Exception {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(2)) {
      ActiveSampler sampler = cluster.sampler();
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      String name = cluster.nameOf(owner);
      try (java.sql.Connection c =
              java.sql.DriverManager.getConnection(cluster.databaseUrl(), "postgres", null);
          java.sql.Statement s = c.createStatement();
          java.sql.ResultSet rs =
              s.executeQuery(
                  "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                      + " WHERE application_name LIKE 'vigil:%:lock:"
                      + name
                      + "'")) {
        rs.next();
        assertThat(rs.getLong(1)).as("the owner's lock sessions terminated").isEqualTo(1);
      }
      // Longer than a lease: a standby that took the free lock for the owner's death would have
      // taken over by now.
      Thread.sleep(ClusterTiming.DEFAULT.leaseDuration().toMillis() + 2000);
      assertThat(cluster.active()).isSameAs(owner);
      assertThat(history(owner, token)).doesNotContain("lock was released");
      sampler.close();
      assertNeverTwoActive(sampler);
    }
  }

  @Test
  void aStoppedOwnerIsReplacedByLeaseAndItsWriteInFlightIsNotCommittedWhenItWakes()
      throws Exception {
    String url = TestDatabases.postgresUrl();
    String database = url.substring(url.lastIndexOf('/') + 1, url.indexOf('?'));
    int pgPort = TestDatabases.postgresServer().getPort();
    try (TcpProxy one = new TcpProxy("127.0.0.1", pgPort);
        TcpProxy two = new TcpProxy("127.0.0.1", pgPort);
        ClusterFixture cluster =
            new ClusterFixture(dir)
                .database(url)
                .nodeEnv(1, "VIGIL_DB_URL", viaProxy(one, database))
                .nodeEnv(2, "VIGIL_DB_URL", viaProxy(two, database))
                .start(2)) {
      ActiveSampler sampler = cluster.sampler();
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      TcpProxy link = cluster.nodes().indexOf(owner) == 0 ? one : two;
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      // A write in flight on the owner when the owner is stopped: it waits on the owner's database
      // link, held (not lost) until the owner wakes.
      link.freeze();
      CompletableFuture<TestHttp.Response> write =
          CompletableFuture.supplyAsync(
              () ->
                  new TestHttp(owner.url(), Duration.ofSeconds(60))
                      .send(
                          "POST",
                          "/api/v1/servers",
                          token,
                          "{\"name\":\"written-while-stopped\",\"type\":\"recording-server\",\"address\":\"http://x.local\"}",
                          Map.of()));
      sleep(500);
      owner.signal("STOP");
      long t0 = System.nanoTime();
      NodeProcess next = awaitServing(cluster, token, Duration.ofSeconds(15));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(next).isNotSameAs(owner);
      assertThat(ms).as("lease-path failover in ms").isGreaterThan(1500).isLessThan(9000);
      link.unfreeze();
      owner.signal("CONT");
      TestHttp.Response refused = write.get(60, TimeUnit.SECONDS);
      assertThat(refused.status()).as(refused.body()).isEqualTo(503);
      // Fenced by the epoch check, or cut off when the new owner ended the old epoch's sessions.
      assertThat(refused.json().get("code").asText()).isIn("fenced", "database_unavailable");
      await(
          "the woken node says it is not active",
          Duration.ofSeconds(5),
          () -> get(owner, "/cluster/active", null).status() == 503);
      assertThat(
              count(
                  cluster.databaseUrl(),
                  "SELECT COUNT(*) FROM servers WHERE name = 'written-while-stopped'"))
          .isZero();
      assertThat(history(next, token)).contains("stopped acting as owner");
      sampler.close();
      assertNeverTwoActive(sampler);
    }
  }

  private static String viaProxy(TcpProxy proxy, String database) {
    return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database;
  }

  @Test
  void aGenericResourceOfAnOwnerWhoseJvmAloneIsStoppedEndsBeforeAnotherNodeStartsIt()
      throws Exception {
    java.nio.file.Path pids = dir.resolve("pids");
    java.nio.file.Files.createDirectories(pids);
    try (ClusterFixture cluster = new ClusterFixture(dir).start(2);
        ResourceProcessSampler daemons = new ResourceProcessSampler(pids)) {
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(owner);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      String body =
          "{\"name\":\"recorder-agent\",\"start\":\""
              + ResourceProcessSampler.startCommand(pids)
              + "\",\"stop\":\""
              + ResourceProcessSampler.stopCommand(pids)
              + "\",\"dependsOn\":[\"management-server\"]}";
      var created = send(owner, "POST", "/api/v1/cluster/resources", token, body);
      assertThat(created.status()).as(created.body()).isEqualTo(201);
      await(
          "the resource's daemon runs on the owner",
          Duration.ofSeconds(10),
          () -> daemons.runningNow().size() == 1);

      // Only the JVM stops: the daemon its start command launched keeps running.
      owner.signal("STOP");
      NodeProcess next = awaitServing(cluster, token, Duration.ofSeconds(15));
      assertThat(next).isNotSameAs(owner);
      await(
          "the resource's daemon runs on the new owner",
          Duration.ofSeconds(10),
          () ->
              daemons.runningNow().size() == 1
                  && daemons.runningNow().get(0).startsWith(cluster.nameOf(next)));
      sleep(500);
      owner.signal("CONT");
      sleep(2000);
      assertThat(daemons.samples()).isGreaterThan(100);
      assertThat(daemons.overlaps()).as("moments at which the resource ran on two nodes").isEmpty();
      assertThat(daemons.runningNow()).hasSize(1);
    }
  }

  @Test
  void anOwnerCutOffFromTheDatabaseStopsServingBeforeAStandbyTakesOver() {
    EmbeddedPostgres pg = TestDatabases.postgresServer();
    String url = TestDatabases.postgresUrl();
    String database =
        url.substring(
            url.lastIndexOf('/') + 1, url.indexOf('?') > 0 ? url.indexOf('?') : url.length());
    try (TcpProxy proxy = new TcpProxy("127.0.0.1", pg.getPort());
        ClusterFixture cluster =
            new ClusterFixture(dir)
                .database(url)
                .nodeEnv(
                    1,
                    "VIGIL_DB_URL",
                    "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + database)
                .start(1)) {
      NodeProcess first = cluster.awaitActive(Duration.ofSeconds(30));
      String token = token(first);
      awaitServing(cluster, token, Duration.ofSeconds(30));
      NodeProcess second = startExtraNode(cluster, url);
      try {
        ActiveSampler sampler =
            new ActiveSampler(Map.of("node-1", first.url(), "node-x", second.url()));
        sleep(1500);
        long t0 = System.nanoTime();
        proxy.freeze();
        long stoppedAt = -1;
        long takenAt = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && takenAt < 0) {
          if (stoppedAt < 0 && get(first, "/cluster/active", null).status() == 503) {
            stoppedAt = System.nanoTime();
          }
          if (get(second, "/cluster/active", null).status() == 200) {
            takenAt = System.nanoTime();
          }
          sleep(20);
        }
        sampler.close();
        assertThat(stoppedAt).as("the cut-off owner stopped serving").isPositive();
        assertThat(takenAt).as("a standby took over").isPositive();
        assertThat(stoppedAt)
            .as("the owner stopped before the standby started")
            .isLessThan(takenAt);
        assertThat((stoppedAt - t0) / 1_000_000).as("ms until the owner stopped").isLessThan(4000);
        assertNeverTwoActive(sampler);
        proxy.unfreeze();
      } finally {
        second.close();
      }
    }
  }

  @Test
  void theClusterRecoversWithOneOwnerAfterPostgresRestarts() throws Exception {
    java.nio.file.Path pgData = dir.resolve("pg");
    int port = NodeProcess.freePort();
    EmbeddedPostgres pg =
        EmbeddedPostgres.builder()
            .setDataDirectory(pgData)
            .setCleanDataDirectory(false)
            .setPort(port)
            .start();
    try {
      String url = pg.getJdbcUrl("postgres", "postgres");
      try (ClusterFixture cluster = new ClusterFixture(dir).database(url).start(2)) {
        NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
        String token = token(owner);
        awaitServing(cluster, token, Duration.ofSeconds(30));
        ActiveSampler sampler = cluster.sampler();
        pg.close();
        sleep(3000);
        pg =
            EmbeddedPostgres.builder()
                .setDataDirectory(pgData)
                .setCleanDataDirectory(false)
                .setPort(port)
                .start();
        NodeProcess serving = awaitServing(cluster, token, Duration.ofSeconds(30));
        sleep(3000);
        sampler.close();
        assertNeverTwoActive(sampler);
        assertThat(cluster.active()).isNotNull();
        assertThat(get(serving, "/api/v1/servers", token).status()).isEqualTo(200);
      }
    } finally {
      pg.close();
    }
  }

  @Test
  void nodesStartingAtTheSameMomentElectExactlyOneOwner() {
    try (ClusterFixture cluster = new ClusterFixture(dir).start(3)) {
      ActiveSampler sampler = cluster.sampler();
      NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(30));
      sleep(2000);
      sampler.close();
      assertNeverTwoActive(sampler);
      assertThat(get(owner, "/cluster/active", null).json().get("epoch").asLong()).isEqualTo(1);
    }
  }

  private NodeProcess startExtraNode(ClusterFixture cluster, String url) {
    int port = NodeProcess.freePort();
    NodeProcess node =
        NodeProcess.create(
            "node",
            dir.resolve("node-x"),
            port,
            Map.of(
                "VIGIL_NODE_NAME",
                "node-x",
                "VIGIL_DB_URL",
                url,
                "VIGIL_DB_USER",
                "postgres",
                "VIGIL_ADMIN_PASSWORD",
                ClusterFixture.ADMIN_PASSWORD,
                "VIGIL_MACHINE_KEY_FILE",
                dir.resolve("machine.key").toString(),
                "VIGIL_ADVERTISED_URL",
                "http://127.0.0.1:" + port));
    return node.start().awaitReady(Duration.ofSeconds(60));
  }

  static long count(String url, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", null);
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
