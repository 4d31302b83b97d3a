package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.protect.MachineProtector;
import io.vigil.server.testing.TestHttp;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two Vigil nodes on two machines sharing a PostgreSQL on a third, driven from a fourth: the
 * cluster as it is deployed, with every request crossing the lab's network by host name.
 */
class LabFailoverIT {

  static final String ADMIN_PASSWORD = "lab-failover-admin-password";

  @RegisterExtension static final LabExtension lab = new LabExtension().withPostgres();

  @Test
  void theOtherMachineTakesOverWhenTheActiveNodeIsKilledAndTheTokenStaysValid() throws Exception {
    LabPostgres db = LabPostgres.start(lab.get().host("db"));
    Host client = lab.get().host("client");
    // The nodes share the key ring, so they need the same machine key today: one file, copied
    // into each machine's home (a cluster would use the certificate protector instead).
    Path sharedKey = lab.get().dir().resolve("shared-machine.key");
    MachineProtector.open(sharedKey);
    byte[] key = Files.readAllBytes(sharedKey);
    List<LabNode> nodes = new ArrayList<>();
    for (String name : List.of("node-a", "node-b")) {
      nodes.add(new LabNode(lab.get().host(name), db, ADMIN_PASSWORD).installMachineKey(sharedKey));
    }
    long started = System.nanoTime();
    nodes.forEach(LabNode::start);
    for (LabNode node : nodes) {
      node.awaitReady(client, Duration.ofSeconds(90));
    }
    System.out.printf("both nodes ready in %d ms%n", (System.nanoTime() - started) / 1_000_000);
    LabHttp http = new LabHttp(client, Duration.ofSeconds(2));

    LabNode active = awaitOneActive(http, nodes, Duration.ofSeconds(30));
    LabNode standby = nodes.get(nodes.indexOf(active) == 0 ? 1 : 0);
    TestHttp.Response claim = http.get(active.url() + "/cluster/active", null);
    assertThat(claim.json().get("url").asText()).isEqualTo(active.url());
    assertThat(http.status(standby.url() + "/cluster/active")).isEqualTo(503);
    // Both nodes reach the database over the lab network, by its name.
    assertThat(
            db.query(
                "vigil",
                "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE usename = 'vigil'"))
        .contains(active.host().ip(), standby.host().ip());

    String token = awaitToken(http, active, Duration.ofSeconds(30));
    TestHttp.Response servers = http.get(active.url() + "/api/v1/servers", token);
    assertThat(servers.status()).as(servers.body()).isEqualTo(200);

    long t0 = System.nanoTime();
    active.kill9();
    awaitStatus(http, standby.url() + "/cluster/active", 200, Duration.ofSeconds(15));
    long failoverMs = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("%s active %d ms after %s was killed%n", standby, failoverMs, active);
    assertThat(failoverMs).as("ms until the other machine was active").isLessThan(15_000);
    TestHttp.Response after =
        awaitApi(http, standby.url() + "/api/v1/servers", token, Duration.ofSeconds(15));
    assertThat(after.status()).as(after.body()).isEqualTo(200);

    // Each node used the key file in its own home, and neither made a new one.
    for (LabNode node : nodes) {
      assertThat(Files.readAllBytes(node.machineKeyFile())).isEqualTo(key);
      assertThat(node.logText()).doesNotContain("Created the machine key file");
    }
    assertThat(standby.isAlive()).isTrue();
    assertThat(active.isAlive()).isFalse();
  }

  /** Waits until exactly one node answers 200 on {@code /cluster/active}, asked from the client. */
  static LabNode awaitOneActive(LabHttp http, List<LabNode> nodes, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<LabNode> active = new ArrayList<>();
      for (LabNode node : nodes) {
        if (http.status(node.url() + "/cluster/active") == 200) {
          active.add(node);
        }
      }
      assertThat(active).as("nodes answering /cluster/active with 200").hasSizeLessThan(2);
      if (active.size() == 1) {
        return active.getFirst();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no node became active within " + timeout);
      }
      Commands.sleep(100);
    }
  }

  /**
   * A token from the password grant. {@code /cluster/active} can answer 200 a moment before the
   * identity provider serves, so this retries for a bounded time.
   */
  static String awaitToken(LabHttp http, LabNode node, Duration timeout) {
    String form =
        "grant_type=password&client_id=vigil-cli&username=admin&password="
            + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
            + "&scope="
            + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8);
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      try {
        TestHttp.Response r = http.form(node.url() + "/idp/connect/token", form);
        if (r.status() == 200) {
          return r.json().get("access_token").asText();
        }
        last = r.status() + " " + r.body();
      } catch (UncheckedIOException e) {
        last = e.getMessage();
      }
      Commands.sleep(200);
    }
    throw new AssertionError("no token from " + node + " within " + timeout + "; last: " + last);
  }

  static void awaitStatus(LabHttp http, String url, int status, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    int last;
    while ((last = http.status(url)) != status) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            url + " answered " + last + ", not " + status + ", after " + timeout);
      }
      Commands.sleep(50);
    }
  }

  /** The first 200 answer of an API read, or the last answer when none came within timeout. */
  static TestHttp.Response awaitApi(LabHttp http, String url, String token, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    TestHttp.Response last = null;
    while (true) {
      try {
        last = http.get(url, token);
        if (last.status() == 200) {
          return last;
        }
      } catch (UncheckedIOException e) {
        // not reachable yet
      }
      if (System.nanoTime() > deadline) {
        return last == null ? new TestHttp.Response(-1, java.util.Map.of(), "unreachable") : last;
      }
      Commands.sleep(100);
    }
  }
}
