package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.ActiveSampler;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.ResourceProcessSampler;
import io.vigil.server.testing.TcpProxy;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.chaos.ChaosChecker;
import io.vigil.server.testing.chaos.Op;
import io.vigil.server.testing.chaos.Op.Kind;
import io.vigil.server.testing.chaos.Op.Outcome;
import io.vigil.server.testing.lab.LabExtension;
import io.vigil.server.testing.lab.LabPostgres;
import io.vigil.server.testing.lab.LoopbackMachine;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The chaos suite: a primary PostgreSQL and its synchronous streaming-replication standby on the
 * loopback, three nodes that reach both through TCP proxies of their own on one multi-host URL
 * ({@code targetServerType=primary}), a generic resource whose daemon detaches itself, a client
 * writing numbered objects and a client refreshing its session, while faults are injected one after
 * another (chosen by a seeded random). Afterwards {@link ChaosChecker} checks the whole history: no
 * acknowledged write lost, none committed under a stale epoch, never two nodes answering 200 on
 * {@code /cluster/active} (sampled every 20 ms), never the resource's daemon on two nodes (sampled
 * every 20 ms), no client session lost.
 *
 * <p>{@code -Dchaos.faults=N} (default 20) and {@code -Dchaos.seed=S} set the run, {@code
 * -Dchaos.only=KILL_OWNER,FAIL_OVER_DATABASE} limits it to some faults; {@code bench/chaos.sh} runs
 * long ones.
 */
class ChaosIT extends ClusterIT {

  /** The faults, each ending with the cluster serving again and every node back. */
  enum Fault {
    /** kill -9 of the owner; it is started again. */
    KILL_OWNER,
    /** SIGSTOP of the owner's JVM and what it runs in its session, beyond the lease; SIGCONT. */
    STOP_OWNER_PROCESS_GROUP,
    /** SIGSTOP of the owner's JVM alone, beyond the lease; SIGCONT. */
    STOP_OWNER_JVM,
    /**
     * The owner's database link frozen (packets neither delivered nor refused) beyond the lease.
     */
    FREEZE_OWNER_DATABASE_LINK,
    /** The owner's advisory-lock session terminated (pg_terminate_backend) while it lives. */
    END_OWNER_LOCK_SESSION,
    /** Every node's database session ended at once, as a PostgreSQL crash-restart does. */
    END_ALL_DATABASE_SESSIONS,
    /** The primary PostgreSQL crashed (every process of it at once) and started again. */
    RESTART_DATABASE,
    /**
     * The primary PostgreSQL crashed and its synchronous standby promoted at once; the old primary
     * then rejoins as the new primary's standby.
     */
    FAIL_OVER_DATABASE,
    /** Every node killed, then all started at the same moment: they race for the role. */
    RACE_AT_START
  }

  private static final Duration PAUSE = Duration.ofSeconds(6);

  private final List<Op> ops = Collections.synchronizedList(new ArrayList<>());
  private volatile String accessToken;
  private final List<String> deposed = Collections.synchronizedList(new ArrayList<>());
  private LabPostgres primary;
  private LabPostgres standby;

  @Test
  void underInjectedFaultsNoGuaranteeIsEverBroken() throws Exception {
    int faults = Integer.getInteger("chaos.faults", 20);
    long seed = Long.getLong("chaos.seed", System.currentTimeMillis());
    System.out.printf("chaos: %d faults, seed %d%n", faults, seed);
    Random random = new Random(seed);
    List<Fault> kinds = kinds(System.getProperty("chaos.only", ""));
    LabExtension.requireAvailable(LabPostgres.loopbackUnavailableReason());
    Path pids = dir.resolve("pids");
    Files.createDirectories(pids);
    // Node i reaches each server through proxies of its own: a frozen link is one node's alone.
    Map<Integer, List<TcpProxy>> proxies = new HashMap<>();
    Map<Fault, List<Long>> recoveries = new EnumMap<>(Fault.class);
    try (LoopbackMachine a = LoopbackMachine.create("chaos-db-a");
        LoopbackMachine b = LoopbackMachine.create("chaos-db-b")) {
      primary = LabPostgres.startPrimary(a);
      standby = LabPostgres.startStandby(b, primary);
      ClusterFixture fixture = new ClusterFixture(dir).database(primary.jdbcUrl());
      for (int i = 1; i <= 3; i++) {
        TcpProxy toA = new TcpProxy("127.0.0.1", a.port(LabPostgres.PORT));
        TcpProxy toB = new TcpProxy("127.0.0.1", b.port(LabPostgres.PORT));
        proxies.put(i - 1, List.of(toA, toB));
        fixture
            .nodeEnv(
                i,
                "VIGIL_DB_URL",
                "jdbc:postgresql://127.0.0.1:"
                    + toA.port()
                    + ",127.0.0.1:"
                    + toB.port()
                    + "/"
                    + LabPostgres.DATABASE
                    + "?targetServerType=primary")
            .nodeEnv(i, "VIGIL_DB_USER", primary.user())
            .nodeEnv(i, "VIGIL_DB_PASSWORD", primary.password());
      }
      run(fixture, faults, seed, random, kinds, pids, proxies, recoveries);
    } finally {
      proxies.values().forEach(p -> p.forEach(TcpProxy::close));
      if (standby != null) {
        standby.close();
      }
      if (primary != null) {
        primary.close();
      }
    }
  }

  private void run(
      ClusterFixture fixture,
      int faults,
      long seed,
      Random random,
      List<Fault> kinds,
      Path pids,
      Map<Integer, List<TcpProxy>> proxies,
      Map<Fault, List<Long>> recoveries)
      throws Exception {
    try (ClusterFixture cluster = fixture.start(3);
        ResourceProcessSampler daemons = new ResourceProcessSampler(pids)) {
      NodeProcess first = cluster.awaitActive(Duration.ofSeconds(60));
      accessToken = token(first);
      awaitServing(cluster, accessToken, Duration.ofSeconds(60));
      var created =
          send(
              first,
              "POST",
              "/api/v1/cluster/resources",
              accessToken,
              "{\"name\":\"recorder-agent\",\"start\":\""
                  + ResourceProcessSampler.startCommand(pids)
                  + "\",\"stop\":\""
                  + ResourceProcessSampler.stopCommand(pids)
                  + "\",\"dependsOn\":[\"management-server\"]}");
      assertThat(created.status()).as(created.body()).isEqualTo(201);
      ActiveSampler sampler = cluster.sampler();
      AtomicBoolean running = new AtomicBoolean(true);
      Thread writer = Thread.ofPlatform().name("chaos-writer").start(() -> write(cluster, running));
      Thread refresher =
          Thread.ofPlatform().name("chaos-refresher").start(() -> refresh(cluster, running));
      long runStart = System.nanoTime();
      try {
        for (int i = 0; i < faults; i++) {
          Fault fault = kinds.get(random.nextInt(kinds.size()));
          long t0 = System.nanoTime();
          java.time.Instant at = java.time.Instant.now();
          long ms = inject(fault, cluster, proxies);
          recoveries.computeIfAbsent(fault, f -> new ArrayList<>()).add(ms);
          for (NodeProcess node : cluster.nodes()) {
            node.awaitReady(Duration.ofSeconds(90));
          }
          System.out.printf(
              "chaos: fault %d/%d %s at %s: serving again after %d ms, every node ready after %d"
                  + " ms%n",
              i + 1, faults, fault, at, ms, (System.nanoTime() - t0) / 1_000_000);
          sleep(500 + random.nextInt(1000));
        }
      } finally {
        running.set(false);
        writer.join(20_000);
        refresher.join(20_000);
        sampler.close();
      }
      long runMs = (System.nanoTime() - runStart) / 1_000_000;
      NodeProcess serving = awaitServing(cluster, accessToken, Duration.ofSeconds(60));
      sleep(500);
      List<String> stored = storedServerNames(serving, accessToken);
      List<String> violations =
          new ArrayList<>(
              ChaosChecker.check(
                  List.copyOf(ops),
                  stored,
                  sampler.roundsWithSeveralActive().stream().map(Object::toString).toList(),
                  daemons.overlaps()));
      deposed.forEach(d -> violations.add("a live owner was deposed: " + d));
      report(
          faults, seed, runMs, recoveries, sampler.rounds().size(), daemons.samples(), violations);
      if (!violations.isEmpty()) {
        keepLogs();
      }
      assertThat(violations).as("violations").isEmpty();
      assertThat(ops.stream().filter(o -> o.kind() == Kind.WRITE && o.outcome() == Outcome.OK))
          .as("acknowledged writes")
          .hasSizeGreaterThan(faults * 3);
    }
  }

  /** The faults named in {@code only} (comma-separated), or every fault when it is blank. */
  private static List<Fault> kinds(String only) {
    if (only.isBlank()) {
      return List.of(Fault.values());
    }
    return java.util.Arrays.stream(only.split(","))
        .map(String::strip)
        .map(f -> Fault.valueOf(f.toUpperCase(java.util.Locale.ROOT)))
        .toList();
  }

  /**
   * Copies the nodes' and the database servers' logs to {@code target/chaos-logs}, where they
   * outlive the run.
   */
  private void keepLogs() throws java.io.IOException {
    Path kept = Path.of("target", "chaos-logs");
    Files.createDirectories(kept);
    try (var files = Files.walk(dir, 2)) {
      for (Path log : files.filter(p -> p.toString().endsWith(".log")).toList()) {
        Files.copy(
            log,
            kept.resolve(log.getFileName()),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.writeString(kept.resolve("postgres-primary.log"), primary.logText());
    if (standby != null) {
      Files.writeString(kept.resolve("postgres-standby.log"), standby.logText());
    }
    System.out.println("chaos: the nodes' logs are in " + kept.toAbsolutePath());
  }

  /** Injects the fault and lifts it; returns ms from injection until a node served the API. */
  private long inject(Fault fault, ClusterFixture cluster, Map<Integer, List<TcpProxy>> proxies)
      throws Exception {
    NodeProcess owner = cluster.awaitActive(Duration.ofSeconds(60));
    int index = cluster.nodes().indexOf(owner);
    String name = cluster.nameOf(owner);
    long t0 = System.nanoTime();
    long ms;
    switch (fault) {
      case KILL_OWNER -> {
        owner.kill();
        ms = recovered(cluster, t0);
        owner.start();
      }
      case STOP_OWNER_PROCESS_GROUP, STOP_OWNER_JVM -> {
        List<Long> group = new ArrayList<>(List.of(owner.pid()));
        if (fault == Fault.STOP_OWNER_PROCESS_GROUP) {
          group.addAll(sameSessionDescendants(owner.pid()));
        }
        signal("STOP", group);
        ms = recovered(cluster, t0);
        sleepUntil(t0 + PAUSE.toNanos());
        signal("CONT", group);
      }
      case FREEZE_OWNER_DATABASE_LINK -> {
        proxies.get(index).forEach(TcpProxy::freeze);
        ms = recovered(cluster, t0);
        sleepUntil(t0 + PAUSE.toNanos());
        proxies.get(index).forEach(TcpProxy::unfreeze);
      }
      case END_OWNER_LOCK_SESSION -> {
        primary.query(
            LabPostgres.DATABASE,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'vigil:%:lock:"
                + name
                + "'");
        sleep(1000);
        ms = recovered(cluster, t0);
        // The owner lives: losing its lock session must not cost it the role.
        NodeProcess now = cluster.awaitActive(Duration.ofSeconds(30));
        if (now != owner) {
          deposed.add(
              name
                  + " lost the role to "
                  + cluster.nameOf(now)
                  + " when only its lock session ended");
        }
      }
      case END_ALL_DATABASE_SESSIONS -> {
        primary.query(
            LabPostgres.DATABASE,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'vigil:%' AND pid <> pg_backend_pid()");
        ms = recovered(cluster, t0);
      }
      case RESTART_DATABASE -> {
        primary.crash();
        primary.restart();
        ms = recovered(cluster, t0);
        // Lifted only once the database is whole again: until the standby streams again every
        // commit waits, renewals included, and the next fault would be blamed for what follows.
        primary.awaitSynchronousStandby(Duration.ofSeconds(30));
      }
      case FAIL_OVER_DATABASE -> {
        LabPostgres old = primary;
        old.crash();
        standby.promote();
        primary = standby;
        standby = null;
        ms = recovered(cluster, t0);
        long rebuild = System.nanoTime();
        standby = old.rebuildAsStandbyOf(primary);
        System.out.printf(
            "chaos: the old primary rejoined as a synchronous standby in %d ms%n",
            (System.nanoTime() - rebuild) / 1_000_000);
      }
      case RACE_AT_START -> {
        for (NodeProcess node : cluster.nodes()) {
          node.kill();
        }
        cluster.nodes().forEach(NodeProcess::start);
        ms = recovered(cluster, t0);
      }
      default -> throw new IllegalStateException(fault.toString());
    }
    return ms;
  }

  private long recovered(ClusterFixture cluster, long t0) {
    awaitServing(cluster, accessToken, Duration.ofSeconds(90));
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** The descendants of {@code pid} in its session: what a signal to its process group reaches. */
  private static List<Long> sameSessionDescendants(long pid) {
    long session = session(pid);
    return ProcessHandle.of(pid).stream()
        .flatMap(ProcessHandle::descendants)
        .map(ProcessHandle::pid)
        .filter(p -> session(p) == session)
        .toList();
  }

  private static long session(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[3]);
    } catch (Exception e) {
      return -1;
    }
  }

  private static void signal(String signal, List<Long> pids) throws Exception {
    List<String> command = new ArrayList<>(List.of("kill", "-" + signal));
    pids.forEach(p -> command.add(Long.toString(p)));
    new ProcessBuilder(command).redirectErrorStream(true).start().waitFor();
  }

  private static void sleepUntil(long nanos) {
    long left = nanos - System.nanoTime();
    if (left > 0) {
      sleep(left / 1_000_000);
    }
  }

  // ---- the clients

  /** Whether the request never left: the connection was refused, so nothing reached the node. */
  private static boolean notSent(RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException) {
        return true;
      }
    }
    return false;
  }

  /** The nodes, starting with the one at {@code first}: clients go to the last that answered. */
  private static List<NodeProcess> from(ClusterFixture cluster, int first) {
    List<NodeProcess> nodes = new ArrayList<>(cluster.nodes());
    Collections.rotate(nodes, -first);
    return nodes;
  }

  private void write(ClusterFixture cluster, AtomicBoolean running) {
    int n = 0;
    int preferred = 0;
    while (running.get()) {
      String name = String.format("chaos-%06d", n++);
      long start = System.nanoTime();
      Outcome outcome = Outcome.FAIL;
      Long epoch = null;
      String detail = "no node took it";
      for (NodeProcess node : from(cluster, preferred)) {
        try {
          TestHttp.Response r =
              new TestHttp(node.url(), Duration.ofSeconds(2))
                  .send(
                      "POST",
                      "/api/v1/servers",
                      accessToken,
                      "{\"name\":\""
                          + name
                          + "\",\"type\":\"recording-server\",\"address\":\"http://rec.local\"}",
                      Map.of());
          if (r.status() == 201) {
            outcome = Outcome.OK;
            String e = r.header("Vigil-Epoch");
            epoch = e == null ? null : Long.parseLong(e);
            detail = "201 from " + cluster.nameOf(node);
            preferred = cluster.nodes().indexOf(node);
            break;
          }
          detail = r.status() + " from " + cluster.nameOf(node);
          if (r.status() == 503 && r.body().contains("\"database_unavailable\"")) {
            // The connection may have been lost during the commit: the write may be stored.
            outcome = Outcome.UNKNOWN;
            break;
          }
          if (r.status() != 307 && r.status() != 503 && r.status() != 401) {
            // An answer that is neither "not here" nor "not now" (a 409, a 500): record it as is.
            outcome = r.status() >= 500 ? Outcome.UNKNOWN : Outcome.FAIL;
            break;
          }
        } catch (RuntimeException e) {
          if (notSent(e)) {
            continue;
          }
          // No answer: the write may have reached the node. Not retried under this name; the
          // next write starts at the next node.
          outcome = Outcome.UNKNOWN;
          detail = "no answer from " + cluster.nameOf(node);
          preferred = (cluster.nodes().indexOf(node) + 1) % cluster.nodes().size();
          break;
        }
      }
      ops.add(new Op(Kind.WRITE, name, start, System.nanoTime(), outcome, epoch, detail));
      if (outcome != Outcome.OK) {
        sleep(50);
      }
    }
  }

  private void refresh(ClusterFixture cluster, AtomicBoolean running) {
    String refreshToken = null;
    int preferred = 0;
    while (running.get()) {
      if (refreshToken == null) {
        refreshToken = signIn(cluster);
        if (refreshToken == null) {
          sleep(200);
          continue;
        }
      }
      long start = System.nanoTime();
      Outcome outcome = Outcome.FAIL;
      String detail = "no node answered";
      String next = null;
      for (NodeProcess node : from(cluster, preferred)) {
        try {
          TestHttp.Response r =
              new TestHttp(node.url(), Duration.ofSeconds(2))
                  .form(
                      "/idp/connect/token",
                      "grant_type=refresh_token&client_id=vigil-cli&refresh_token="
                          + URLEncoder.encode(refreshToken, StandardCharsets.UTF_8),
                      Map.of());
          detail = r.status() + " from " + cluster.nameOf(node) + ": " + r.body();
          if (r.status() == 200) {
            outcome = Outcome.OK;
            next = r.json().get("refresh_token").asText();
            accessToken = r.json().get("access_token").asText();
            preferred = cluster.nodes().indexOf(node);
            break;
          }
          if (r.status() == 400 && r.body().contains("invalid_grant")) {
            outcome = Outcome.SESSION_LOST;
            break;
          }
        } catch (RuntimeException e) {
          if (!notSent(e)) {
            outcome = Outcome.UNKNOWN;
            detail = "no answer from " + cluster.nameOf(node);
            preferred = (cluster.nodes().indexOf(node) + 1) % cluster.nodes().size();
          }
        }
      }
      ops.add(
          new Op(
              Kind.REFRESH,
              refreshToken.substring(0, 8),
              start,
              System.nanoTime(),
              outcome,
              null,
              detail));
      if (outcome == Outcome.OK) {
        refreshToken = next;
      } else if (outcome == Outcome.SESSION_LOST) {
        refreshToken = null;
      }
      // Otherwise the same token again: its redemption may or may not have happened.
      sleep(200);
    }
  }

  private static String signIn(ClusterFixture cluster) {
    for (NodeProcess node : cluster.nodes()) {
      try {
        TestHttp.Response r =
            new TestHttp(node.url(), Duration.ofSeconds(2))
                .form(
                    "/idp/connect/token",
                    "grant_type=password&client_id=vigil-cli&username=admin&password="
                        + URLEncoder.encode(ClusterFixture.ADMIN_PASSWORD, StandardCharsets.UTF_8),
                    Map.of());
        if (r.status() == 200 && r.json().has("refresh_token")) {
          return r.json().get("refresh_token").asText();
        }
      } catch (RuntimeException e) {
        // next node
      }
    }
    return null;
  }

  private void report(
      int faults,
      long seed,
      long runMs,
      Map<Fault, List<Long>> recoveries,
      int activeRounds,
      int resourceSamples,
      List<String> violations) {
    Map<String, Long> counts =
        ops.stream()
            .collect(
                Collectors.groupingBy(o -> o.kind() + " " + o.outcome(), Collectors.counting()));
    StringBuilder out = new StringBuilder();
    out.append(String.format("chaos result: faults=%d seed=%d run_ms=%d%n", faults, seed, runMs));
    counts.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> out.append(String.format("chaos ops: %s=%d%n", e.getKey(), e.getValue())));
    recoveries.forEach(
        (fault, ms) -> {
          List<Long> sorted = ms.stream().sorted().toList();
          out.append(
              String.format(
                  "chaos recovery: %s n=%d median_ms=%d max_ms=%d%n",
                  fault, sorted.size(), sorted.get(sorted.size() / 2), sorted.getLast()));
        });
    out.append(
        String.format(
            "chaos samples: cluster_active_rounds=%d resource_samples=%d%n",
            activeRounds, resourceSamples));
    out.append(String.format("chaos violations: %d%n", violations.size()));
    violations.stream()
        .collect(Collectors.groupingBy(v -> v.substring(0, v.indexOf(':')), Collectors.counting()))
        .forEach(
            (kind, n) -> out.append(String.format("chaos violations of a kind: %s=%d%n", kind, n)));
    violations.stream()
        .limit(50)
        .forEach(v -> out.append("chaos violation: ").append(v).append('\n'));
    System.out.print(out);
  }
}
