package io.vigil.server.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A real cluster for failover tests: N node processes of the built distribution ({@code bin/vigil
 * node}, see {@link NodeProcess}) named {@code node-1..N}, sharing a fresh database on the test
 * JVM's embedded PostgreSQL ({@link TestDatabases#postgresUrl()}), one administrator password and
 * one machine key file (they run on one machine). Each node has its own data directory and a fixed
 * loopback port, so a stopped or killed node restarts at the same address with {@code
 * node(i).start()}.
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
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
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
    Path machineKey = dir.resolve("machine.key");
    for (int i = 1; i <= n; i++) {
      int port = NodeProcess.freePort();
      Map<String, String> env = new HashMap<>();
      env.put("VIGIL_NODE_NAME", name(i));
      env.put("VIGIL_DB_URL", databaseUrl);
      env.put("VIGIL_DB_USER", "postgres");
      env.put("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD);
      env.put("VIGIL_MACHINE_KEY_FILE", machineKey.toString());
      env.put("VIGIL_ADVERTISED_URL", "http://127.0.0.1:" + port);
      env.putAll(extraEnv);
      env.putAll(nodeEnv.getOrDefault(i, Map.of()));
      Path data = dir.resolve(name(i));
      if (appsettings != null) {
        try {
          java.nio.file.Files.createDirectories(data);
          java.nio.file.Files.writeString(data.resolve("appsettings.json"), appsettings);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      nodes.add(NodeProcess.create("node", data, port, env));
    }
    try {
      nodes.forEach(NodeProcess::start);
      nodes.forEach(node -> node.awaitReady(Duration.ofSeconds(120)));
    } catch (RuntimeException e) {
      // The caller's try-with-resources never sees this fixture: leave no process behind.
      close();
      throw e;
    }
    return this;
  }

  /** {@code node-i}. */
  public static String name(int i) {
    return "node-" + i;
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
    List<CompletableFuture<Integer>> answers = new ArrayList<>();
    for (NodeProcess node : nodes) {
      answers.add(
          node.isAlive()
              ? client
                  .sendAsync(
                      HttpRequest.newBuilder(URI.create(node.url() + "/cluster/active"))
                          .timeout(Duration.ofSeconds(1))
                          .build(),
                      HttpResponse.BodyHandlers.discarding())
                  .thenApply(HttpResponse::statusCode)
                  .exceptionally(e -> -1)
              : CompletableFuture.completedFuture(-1));
    }
    for (int i = 0; i < nodes.size(); i++) {
      if (answers.get(i).join() == 200) {
        return nodes.get(i);
      }
    }
    return null;
  }

  /**
   * Polls {@link #active()} until a node answers 200.
   *
   * @throws IllegalStateException naming every node's state when none is active in time
   */
  public NodeProcess awaitActive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      NodeProcess active = active();
      if (active != null) {
        return active;
      }
      if (System.nanoTime() > deadline) {
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
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
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
    client.shutdownNow();
  }
}
