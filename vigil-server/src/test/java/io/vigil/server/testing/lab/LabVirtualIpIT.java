package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.protect.MachineProtector;
import io.vigil.server.testing.TestHttp;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The client access point as a virtual IP address: three nodes on three machines configured with
 * one address on their {@code eth0}, a PostgreSQL on a fourth, a client on a fifth that knows only
 * the virtual IP. The client reaches the cluster through it, the owner's JVM is killed (SIGKILL, as
 * in a crash; its dead man's switch lives on), and the client reaches the new owner through the
 * same address. All along, every node's addresses are sampled ({@code ip -n NS addr}): the virtual
 * IP is never on two machines at once.
 */
class LabVirtualIpIT {

  static final String ADMIN_PASSWORD = "lab-virtual-ip-admin-password";

  @RegisterExtension static final LabExtension lab = new LabExtension().withPostgres();

  @Test
  void theClientReachesTheClusterThroughTheVirtualIpAcrossAKillAndItIsNeverOnTwoMachines()
      throws Exception {
    LabPostgres db = LabPostgres.start(lab.get().host("db"));
    Host client = lab.get().host("client");
    String vip = lab.get().subnet().address(250);
    Path sharedKey = lab.get().dir().resolve("shared-machine.key");
    MachineProtector.open(sharedKey);
    List<LabNode> nodes = new ArrayList<>();
    for (String name : List.of("node-a", "node-b", "node-c")) {
      nodes.add(
          new LabNode(lab.get().host(name), db, ADMIN_PASSWORD)
              .installMachineKey(sharedKey)
              .env("VIGIL_VIRTUAL_IP_ADDRESS", vip)
              .env("VIGIL_VIRTUAL_IP_INTERFACE", "eth0"));
    }
    Sampler sampler = new Sampler(nodes, vip);
    Thread sampling = Thread.ofPlatform().name("vip-sampler").daemon().start(sampler);
    try {
      nodes.forEach(LabNode::start);
      for (LabNode node : nodes) {
        node.awaitReady(client, Duration.ofSeconds(90));
      }
      LabHttp http = new LabHttp(client, Duration.ofSeconds(1));
      String through = "http://" + vip + ":" + LabNode.PORT;

      TestHttp.Response before = awaitActive(http, through, null, Duration.ofSeconds(30));
      String owner = before.json().get("active").asText();
      assertThat(http.status(through + "/health/live")).isEqualTo(200);
      LabNode killed = nodes.stream().filter(n -> n.name().equals(owner)).findFirst().orElseThrow();
      assertThat(addressesOf(killed)).contains("inet " + vip + "/32");

      long t0 = System.nanoTime();
      killed.killJvm();
      TestHttp.Response after = awaitActive(http, through, owner, Duration.ofSeconds(30));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      String next = after.json().get("active").asText();
      System.out.printf("%s answered through %s %d ms after %s was killed%n", next, vip, ms, owner);
      assertThat(next).isNotEqualTo(owner);
      assertThat(http.status(through + "/health/live")).isEqualTo(200);
      // The killed node's switch took the address off its machine.
      assertThat(addressesOf(killed)).doesNotContain("inet " + vip + "/");
      assertThat(ms).as("ms until the client reached the new owner").isLessThan(20_000);

      // The new owner's JVM alone is paused: its switch takes the address away at its deadline,
      // before the lease can expire, and the third node takes the role and the address over.
      LabNode paused = nodes.stream().filter(n -> n.name().equals(next)).findFirst().orElseThrow();
      long t1 = System.nanoTime();
      paused.signalJvm("STOP");
      TestHttp.Response third = awaitActive(http, through, next, Duration.ofSeconds(30));
      long pausedMs = (System.nanoTime() - t1) / 1_000_000;
      String last = third.json().get("active").asText();
      System.out.printf(
          "%s answered through %s %d ms after %s was paused%n", last, vip, pausedMs, next);
      assertThat(last).isNotIn(owner, next);
      assertThat(addressesOf(paused)).doesNotContain("inet " + vip + "/");
      // Woken, it finds its deadline passed, stops its resources and claims nothing.
      paused.signalJvm("CONT");
      Commands.sleep(3000);
      assertThat(addressesOf(paused)).doesNotContain("inet " + vip + "/");
      assertThat(http.status(through + "/health/live")).isEqualTo(200);
    } finally {
      sampler.stop.set(true);
      sampling.join(5000);
      nodes.forEach(LabNode::close);
    }
    System.out.printf(
        "%d samples of the nodes' addresses, holders seen: %s%n",
        sampler.rounds.get(), sampler.holdersSeen);
    assertThat(sampler.violations).as("samples with the address on two machines").isEmpty();
    assertThat(sampler.rounds.get()).as("sampling rounds").isGreaterThan(20);
    assertThat(sampler.holdersSeen).as("machines that held the address").hasSize(3);
  }

  /**
   * The first {@code /cluster/active} answer 200 through the virtual IP from a node other than
   * {@code not} (null: any node).
   */
  static TestHttp.Response awaitActive(LabHttp http, String base, String not, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      try {
        TestHttp.Response r = http.get(base + "/cluster/active", null);
        if (r.status() == 200 && !r.json().get("active").asText().equals(not)) {
          return r;
        }
        last = r.status() + " " + r.body();
      } catch (UncheckedIOException e) {
        last = e.getMessage();
      }
      Commands.sleep(100);
    }
    throw new AssertionError("no new owner through " + base + " within " + timeout + "; " + last);
  }

  static String addressesOf(LabNode node) {
    return Commands.run(
            Commands.ip(), "-n", node.host().namespace(), "-o", "-4", "addr", "show", "dev", "eth0")
        .stdout();
  }

  /** Every 100 ms until stopped (at most three minutes): which machines hold the address. */
  static final class Sampler implements Runnable {
    final List<LabNode> nodes;
    final String needle;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger rounds = new AtomicInteger();
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    final List<String> holdersSeen = Collections.synchronizedList(new ArrayList<>());

    Sampler(List<LabNode> nodes, String vip) {
      this.nodes = nodes;
      this.needle = "inet " + vip + "/";
    }

    @Override
    public void run() {
      long end = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (!stop.get() && System.nanoTime() < end) {
        List<String> holders = new ArrayList<>();
        for (LabNode node : nodes) {
          try {
            if (addressesOf(node).contains(needle)) {
              holders.add(node.name());
            }
          } catch (RuntimeException e) {
            // The namespace is being torn down at the end: nothing to sample.
          }
        }
        rounds.incrementAndGet();
        if (holders.size() > 1) {
          violations.add(holders.toString());
        }
        holders.stream().filter(h -> !holdersSeen.contains(h)).forEach(holdersSeen::add);
        Commands.sleep(100);
      }
    }
  }
}
