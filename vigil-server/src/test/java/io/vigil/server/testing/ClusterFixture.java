package io.vigil.server.testing;

import io.vigil.server.localcluster.LocalCluster;
import io.vigil.server.localcluster.LocalNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real cluster for failover tests: a {@link LocalCluster} (the harness of {@code vigil start-dev
 * --nodes}) of N node processes of the built distribution ({@code bin/vigil node}, see {@link
 * NodeProcess}) named {@code node-1..N}, sharing a fresh database on the test JVM's embedded
 * PostgreSQL ({@link TestDatabases#postgresUrl()}), one administrator password and one machine key
 * file (they run on one machine). Each node has its own data directory {@code <dir>/node-i} (its
 * log in there) and a fixed loopback port, so a stopped or killed node restarts at the same address
 * with {@code node(i).start()}.
 *
 * <pre>{@code
 * try (ClusterFixture cluster = new ClusterFixture(tempDir).start(3);
 *     ActiveSampler sampler = cluster.sampler()) {
 *   NodeProcess first = cluster.awaitActive(Duration.ofSeconds(30));
 *   first.kill();
 *   NodeProcess second = cluster.awaitActive(Duration.ofSeconds(30));
 *   assertThat(sampler.maxSimultaneousActive()).isLessThanOrEqualTo(1);
 * }
 * }</pre>
 *
 * <p>{@link #active()} asks every node at about the same time and returns the first that answers
 * 200; during a failover that answer can be stale by the time the caller acts on it, and a broken
 * controller could have two nodes answer 200 (use {@link ActiveSampler} to detect that). Not
 * thread-safe: one test thread drives a fixture.
 */
public final class ClusterFixture implements AutoCloseable {

  public static final String ADMIN_PASSWORD = "cluster-fixture-admin-password";

  private final Path dir;
  private final Map<String, String> extraEnv = new HashMap<>();
  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<ActiveSampler> samplers = new ArrayList<>();
  private LocalCluster cluster;
  private String databaseUrl;
  private final Map<Integer, Map<String, String>> nodeEnv = new HashMap<>();
  private String appsettings;

  /**
   * @param dir a folder for the nodes' data directories, logs and the machine key (a
   *     {@code @TempDir})
   */
  public ClusterFixture(Path dir) {
    this.dir = dir;
  }

  /** Adds an environment variable for every node started after this call (e.g. timings). */
  public ClusterFixture env(String name, String value) {
    extraEnv.put(name, value);
    return this;
  }

  /** Adds an environment variable for node {@code i} only (e.g. a database URL through a proxy). */
  public ClusterFixture nodeEnv(int i, String name, String value) {
    nodeEnv.computeIfAbsent(i, k -> new HashMap<>()).put(name, value);
    return this;
  }

  /** Uses this database instead of a fresh one on the shared test server. */
  public ClusterFixture database(String jdbcUrl) {
    this.databaseUrl = jdbcUrl;
    return this;
  }

  /** Writes this {@code appsettings.json} into every node's data directory before it starts. */
  public ClusterFixture appsettings(String json) {
    this.appsettings = json;
    return this;
  }

  /**
   * Starts {@code n} nodes at once on a new database and waits until each answers {@code
   * /health/ready} (active or standby).
   *
   * @throws IllegalStateException with the node's log when one exits or is not ready in time; the
   *     nodes started so far are killed first
   */
  public ClusterFixture start(int n) {
    if (n < 1 || !nodes.isEmpty()) {
      throw new IllegalArgumentException("start(n) needs n >= 1 and is called once, got " + n);
    }
    if (databaseUrl == null) {
      databaseUrl = TestDatabases.postgresUrl();
    }
    LocalCluster.Plan plan = LocalCluster.plan(dir, LocalCluster.freePorts(n));
    Map<String, String> base = new HashMap<>(System.getenv());
    base.put("VIGIL_CACHE", "off");
    LocalCluster.Database db = new LocalCluster.Database(databaseUrl, "postgres", null);
    cluster =
        new LocalCluster(
            plan,
            List.of(NodeProcess.launcher().toString(), "node"),
            node -> {
              Map<String, String> env = LocalCluster.nodeEnv(base, plan, node, db, ADMIN_PASSWORD);
              env.put("VIGIL_ADVERTISED_URL", node.url());
              env.putAll(extraEnv);
              env.putAll(nodeEnv.getOrDefault(plan.nodes().indexOf(node) + 1, Map.of()));
              return env;
            },
            null);
    if (appsettings != null) {
      for (LocalCluster.NodePlan node : plan.nodes()) {
        try {
          Files.createDirectories(node.dataDir());
          Files.writeString(node.dataDir().resolve("appsettings.json"), appsettings);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    cluster.nodes().forEach(node -> nodes.add(new NodeProcess(node)));
    try {
      cluster.startAll();
      cluster.awaitReady(Duration.ofSeconds(120));
    } catch (RuntimeException e) {
      // The caller's try-with-resources never sees this fixture: leave no process behind.
      close();
      throw e;
    }
    return this;
  }

  /** {@code node-i}. */
  public static String name(int i) {
    return LocalCluster.name(i);
  }

  /** The node named {@code node-i}; {@code i} counts from 1 like the names. */
  public NodeProcess node(int i) {
    if (i < 1 || i > nodes.size()) {
      throw new IllegalArgumentException(
          "No node-" + i + ": the cluster has node-1 to node-" + nodes.size());
    }
    return nodes.get(i - 1);
  }

  public List<NodeProcess> nodes() {
    return List.copyOf(nodes);
  }

  /** The name of a node of this cluster ({@code node-i}). */
  public String nameOf(NodeProcess node) {
    int i = nodes.indexOf(node);
    if (i < 0) {
      throw new IllegalArgumentException("not a node of this cluster: " + node.url());
    }
    return name(i + 1);
  }

  /** The JDBC URL of the cluster's database (user {@code postgres}, no password). */
  public String databaseUrl() {
    return databaseUrl;
  }

  /** The node whose {@code /cluster/active} answers 200 now, or null when none does. */
  public NodeProcess active() {
    return cluster == null ? null : wrapper(cluster.active()).orElse(null);
  }

  /** The harness cluster behind this fixture; null before {@link #start}. */
  public LocalCluster local() {
    return cluster;
  }

  private Optional<NodeProcess> wrapper(Optional<LocalNode> node) {
    return node.map(n -> nodes.get(cluster.nodes().indexOf(n)));
  }

  /**
   * Polls {@link #active()} until a node answers 200.
   *
   * @throws IllegalStateException naming every node's state when none is active in time
   */
  public NodeProcess awaitActive(Duration timeout) {
    Optional<NodeProcess> active =
        cluster == null ? Optional.empty() : wrapper(cluster.awaitActive(timeout));
    if (active.isPresent()) {
      return active.get();
    }
    StringBuilder sb = new StringBuilder("no node became active within " + timeout + ":");
    for (int i = 1; i <= nodes.size(); i++) {
      NodeProcess node = node(i);
      sb.append("\n  ")
          .append(name(i))
          .append(" at ")
          .append(node.url())
          .append(node.isAlive() ? " running" : " not running");
    }
    throw new IllegalStateException(sb.toString());
  }

  /** Starts an {@link ActiveSampler} over every node; {@link #close()} stops it too. */
  public ActiveSampler sampler() {
    Map<String, String> urls = new LinkedHashMap<>();
    for (int i = 1; i <= nodes.size(); i++) {
      urls.put(name(i), node(i).url());
    }
    ActiveSampler sampler = new ActiveSampler(urls);
    samplers.add(sampler);
    return sampler;
  }

  /** Stops the samplers and kills every node (the database is left to the test JVM's server). */
  @Override
  public void close() {
    samplers.forEach(ActiveSampler::close);
    nodes.forEach(NodeProcess::close);
  }
}
