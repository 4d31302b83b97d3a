package io.vigil.server.localcluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * N Vigil node processes on this machine's loopback, named {@code node-1..N}, sharing a database
 * and one machine key file (they share one machine): what {@code vigil start-dev --nodes N}, the
 * integration tests' cluster fixture and the failover benchmark run.
 *
 * <p>The plan ({@link #plan}, {@link #consecutivePorts}, {@link #nodeEnv}, {@link #stateTsv}) is
 * pure data; the cluster object starts, watches and stops the {@link LocalNode} processes. Its
 * layout, for a cluster folder {@code DIR}:
 *
 * <pre>
 * DIR/machine.key            the machine key file every node uses
 * DIR/node-K/                node-K's data directory
 * DIR/node-K/node-K.log      node-K's output, appended to by every start
 * DIR/nodes.tsv              name, URL and PID per node, when {@link #writeState} writes it
 * </pre>
 *
 * <p>{@link #stop} may come from another thread (a shutdown hook) while the cluster starts: once it
 * has begun no node starts again, and a wait for readiness ends with a {@link
 * CancellationException}.
 */
public final class LocalCluster {

  /** The name of the state file in the cluster folder. */
  public static final String STATE_FILE = "nodes.tsv";

  /**
   * How long after a node's process exits its exit is handled: a stop that caused it (Ctrl+C
   * signals the nodes too, they share the terminal's process group) has begun by then, so the exit
   * is not reported as unexpected.
   */
  static final Duration EXIT_NOTICE_DELAY = Duration.ofMillis(500);

  /** One node of the plan: its name, port, data directory and log file. */
  public record NodePlan(String name, int port, Path dataDir, Path log) {
    public String url() {
      return "http://" + LocalNode.HOST + ":" + port;
    }
  }

  /** The cluster folder and its nodes; making one starts and writes nothing. */
  public record Plan(Path dir, List<NodePlan> nodes) {
    public Plan {
      nodes = List.copyOf(nodes);
    }

    public Path machineKeyFile() {
      return dir.resolve("machine.key");
    }

    public Path stateFile() {
      return dir.resolve(STATE_FILE);
    }
  }

  /** The PostgreSQL database the nodes share; user and password may be null. */
  public record Database(String url, String user, String password) {}

  /** What a node's {@code /cluster/active} says about it, or that its process is gone. */
  public enum State {
    ACTIVE,
    STANDBY,
    RUNNING,
    EXITED;

    /** As shown in a status table: {@code active}, {@code standby}, ... */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** One row of a status table. */
  public record Status(LocalNode node, State state) {}

  /**
   * What a running cluster reports. Calls come from background threads, one at a time per event;
   * every method does nothing by default.
   */
  public interface Listener {
    /**
     * A node's process exited while the cluster was not stopping.
     *
     * @param restartIn when the node is started again, or empty when it stays down
     */
    default void exited(LocalNode node, long pid, int exitCode, Optional<Duration> restartIn) {}

    /** A node that had exited was started again. */
    default void restarted(LocalNode node) {}

    /** Starting a node again failed; it stays down. */
    default void restartFailed(LocalNode node, RuntimeException cause) {}

    /** {@link #stop} is about to signal these nodes, the ones still running. */
    default void stopping(List<LocalNode> running) {}

    /** A node did not stop within the grace of {@link #stop} and is killed now. */
    default void killing(LocalNode node, Duration grace) {}
  }

  private final Plan plan;
  private final List<LocalNode> nodes;
  private final Listener listener;
  private boolean stopping;
  private Duration restartAfter;

  /**
   * @param command the program that runs one node, e.g. {@code [.../bin/vigil, node]}
   * @param env each node's whole environment (see {@link #nodeEnv})
   * @param listener told about exits, restarts and the stop; null for none
   */
  public LocalCluster(
      Plan plan,
      List<String> command,
      Function<NodePlan, Map<String, String>> env,
      Listener listener) {
    this.plan = plan;
    this.listener = listener != null ? listener : new Listener() {};
    List<LocalNode> list = new ArrayList<>();
    for (NodePlan node : plan.nodes()) {
      list.add(
          new LocalNode(
              new LocalNode.Spec(node.name(), node.port(), node.log(), command, env.apply(node))));
    }
    this.nodes = List.copyOf(list);
  }

  /** {@code node-k}. */
  public static String name(int k) {
    return "node-" + k;
  }

  /**
   * {@code count} ports from {@code base} up.
   *
   * @throws IllegalArgumentException when they do not fit in 1..65535
   */
  public static List<Integer> consecutivePorts(int base, int count) {
    if (count < 1 || base < 1 || base + count - 1 > 65535) {
      throw new IllegalArgumentException(
          count + " consecutive ports from " + base + " do not fit in 1..65535");
    }
    List<Integer> ports = new ArrayList<>();
    for (int k = 0; k < count; k++) {
      ports.add(base + k);
    }
    return ports;
  }

  /**
   * {@code count} distinct ports on loopback that nothing listens on right now (the system may hand
   * out one free port twice; every node needs its own).
   */
  public static List<Integer> freePorts(int count) {
    Set<Integer> ports = new java.util.LinkedHashSet<>();
    while (ports.size() < count) {
      ports.add(LocalNode.freePort());
    }
    return List.copyOf(ports);
  }

  /**
   * Nodes {@code node-1..N}, one per port, in the cluster folder {@code dir} (made absolute).
   *
   * @throws IllegalArgumentException when there is no port, a port is outside 1..65535 or given
   *     twice
   */
  public static Plan plan(Path dir, List<Integer> ports) {
    if (ports.isEmpty()) {
      throw new IllegalArgumentException("a cluster needs at least one node");
    }
    Set<Integer> seen = new HashSet<>();
    for (int port : ports) {
      if (port < 1 || port > 65535 || !seen.add(port)) {
        throw new IllegalArgumentException(
            "every node needs its own port in 1..65535, got " + ports);
      }
    }
    Path root = dir.toAbsolutePath().normalize();
    List<NodePlan> list = new ArrayList<>();
    for (int k = 1; k <= ports.size(); k++) {
      Path data = root.resolve(name(k));
      list.add(new NodePlan(name(k), ports.get(k - 1), data, data.resolve(name(k) + ".log")));
    }
    return new Plan(root, list);
  }

  /**
   * The first node whose port another process listens on, checked by binding it on loopback.
   *
   * @return empty when every port is free now
   */
  @SuppressWarnings("AddressSelection") // HOST is an address literal: no name is looked up
  public static Optional<NodePlan> firstPortInUse(Plan plan) {
    for (NodePlan node : plan.nodes()) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(LocalNode.HOST), node.port()));
      } catch (IOException e) {
        return Optional.of(node);
      }
    }
    return Optional.empty();
  }

  /**
   * A node's environment: {@code base} with the node's name, port, loopback address, data
   * directory, the plan's machine key file, the shared database, plain HTTP and the administrator
   * password. {@code VIGIL_ADVERTISED_URL} is dropped, since one value cannot be right for every
   * node (each advertises its own loopback URL), and so are a TLS thumbprint and database
   * credentials that {@code db} does not give.
   *
   * @param adminPassword null to leave {@code VIGIL_ADMIN_PASSWORD} out (the database already has
   *     its administrator)
   */
  public static Map<String, String> nodeEnv(
      Map<String, String> base, Plan plan, NodePlan node, Database db, String adminPassword) {
    Map<String, String> env = new HashMap<>(base);
    env.remove("VIGIL_ADVERTISED_URL");
    env.remove("VIGIL_ADMIN_PASSWORD");
    env.remove("VIGIL_DB_USER");
    env.remove("VIGIL_DB_PASSWORD");
    // Plain HTTP on loopback: "vigil node" serves HTTPS unless plain HTTP is chosen.
    env.remove("VIGIL_TLS_THUMBPRINT");
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    env.put("VIGIL_NODE_NAME", node.name());
    env.put("VIGIL_HTTP_PORT", Integer.toString(node.port()));
    env.put("VIGIL_HTTP_HOST", LocalNode.HOST);
    env.put("VIGIL_DATA_DIR", node.dataDir().toString());
    env.put("VIGIL_MACHINE_KEY_FILE", plan.machineKeyFile().toString());
    env.put("VIGIL_DB_URL", db.url());
    if (db.user() != null) {
      env.put("VIGIL_DB_USER", db.user());
    }
    if (db.password() != null) {
      env.put("VIGIL_DB_PASSWORD", db.password());
    }
    if (adminPassword != null) {
      env.put("VIGIL_ADMIN_PASSWORD", adminPassword);
    }
    return env;
  }

  /**
   * Whether an exit is a failure that a restart policy acts on, as systemd's {@code
   * Restart=on-failure} (the packaged unit's) judges it: not code 0, and not the end by SIGHUP,
   * SIGINT, SIGTERM or SIGPIPE (codes 129, 130, 143, 141), which is how a stop looks.
   */
  public static boolean isFailure(int exitCode) {
    return switch (exitCode) {
      case 0, 129, 130, 141, 143 -> false;
      default -> true;
    };
  }

  /**
   * The state file's text: one line per node, {@code name<TAB>url<TAB>pid}, with {@code -} as the
   * pid of a node that does not run.
   */
  public static String stateTsv(List<NodePlan> nodes, List<OptionalLong> pids) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < nodes.size(); i++) {
      OptionalLong pid = pids.get(i);
      sb.append(nodes.get(i).name())
          .append('\t')
          .append(nodes.get(i).url())
          .append('\t')
          .append(pid.isPresent() ? Long.toString(pid.getAsLong()) : "-")
          .append('\n');
    }
    return sb.toString();
  }

  public Plan plan() {
    return plan;
  }

  /** The nodes in plan order; the same objects for the cluster's whole life. */
  public List<LocalNode> nodes() {
    return nodes;
  }

  /** {@code node-k}; {@code k} counts from 1 like the names. */
  public LocalNode node(int k) {
    if (k < 1 || k > nodes.size()) {
      throw new IllegalArgumentException(
          "No node-" + k + ": the cluster has node-1 to node-" + nodes.size());
    }
    return nodes.get(k - 1);
  }

  /** True once {@link #stop} has begun. */
  public synchronized boolean stopping() {
    return stopping;
  }

  /**
   * Creates the node's data directory and starts its process.
   *
   * @throws CancellationException when the cluster is stopping
   * @throws UncheckedIOException when the folder cannot be made or the command not run
   */
  public synchronized void start(LocalNode node) {
    if (stopping) {
      throw new CancellationException("the cluster is stopping");
    }
    try {
      Files.createDirectories(plan.nodes().get(nodes.indexOf(node)).dataDir());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    node.start();
  }

  /** {@link #start(LocalNode)} for every node, in order. */
  public void startAll() {
    nodes.forEach(this::start);
  }

  /**
   * Waits until every node answers 200 on {@code /health/ready}.
   *
   * @throws LocalNode.NotReadyException for the first node that exits meanwhile, or the first not
   *     ready when {@code timeout} has passed
   * @throws CancellationException when the cluster stops meanwhile
   */
  public void awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<LocalNode> waiting = new ArrayList<>(nodes);
    while (true) {
      if (stopping()) {
        throw new CancellationException("the cluster is stopping");
      }
      waiting.removeIf(node -> node.answers("/health/ready"));
      if (waiting.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw waiting.getFirst().notAnswering("/health/ready", timeout);
      }
      LocalNode.pause();
    }
  }

  /**
   * The node whose {@code /cluster/active} answers 200 now, asking every running node at the same
   * time (the first in plan order when, wrongly, several do). During a failover the answer can be
   * stale by the time the caller acts on it.
   */
  public Optional<LocalNode> active() {
    List<CompletableFuture<Integer>> answers = new ArrayList<>();
    for (LocalNode node : nodes) {
      answers.add(
          node.isAlive()
              ? node.statusAsync("/cluster/active", Duration.ofSeconds(1))
              : CompletableFuture.completedFuture(-1));
    }
    for (int i = 0; i < nodes.size(); i++) {
      if (answers.get(i).join() == 200) {
        return Optional.of(nodes.get(i));
      }
    }
    return Optional.empty();
  }

  /**
   * Polls {@link #active()} until a node answers 200.
   *
   * @return empty when {@code timeout} passes, no node runs, or the cluster stops first
   */
  public Optional<LocalNode> awaitActive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<LocalNode> active = active();
      if (active.isPresent()) {
        return active;
      }
      if (System.nanoTime() > deadline
          || stopping()
          || nodes.stream().noneMatch(LocalNode::isAlive)) {
        return Optional.empty();
      }
      LocalNode.pause();
    }
  }

  /** Every node's state, asked of all of them at the same time, in plan order. */
  public List<Status> status() {
    List<CompletableFuture<Integer>> answers = new ArrayList<>();
    for (LocalNode node : nodes) {
      answers.add(
          node.isAlive()
              ? node.statusAsync("/cluster/active", Duration.ofSeconds(2))
              : CompletableFuture.completedFuture(null));
    }
    List<Status> rows = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      Integer code = answers.get(i).join();
      State state =
          code == null
              ? State.EXITED
              : switch (code) {
                case 200 -> State.ACTIVE;
                case 503 -> State.STANDBY;
                default -> State.RUNNING;
              };
      rows.add(new Status(nodes.get(i), state));
    }
    return rows;
  }

  /**
   * From now on, tells the listener when a running node's process exits, and starts a node whose
   * process failed ({@link #isFailure}) again after {@code restartAfter}, as a service manager
   * would; every later exit of it is handled the same way.
   *
   * @param restartAfter null to leave every node that exits down
   */
  public void supervise(Duration restartAfter) {
    synchronized (this) {
      this.restartAfter = restartAfter;
    }
    for (LocalNode node : nodes) {
      if (node.process() != null) {
        watch(node, node.process());
      }
    }
  }

  @SuppressWarnings("FutureReturnValueIgnored") // exited() reports its own failures to the listener
  private void watch(LocalNode node, Process process) {
    process
        .onExit()
        .thenRunAsync(
            () -> exited(node, process),
            CompletableFuture.delayedExecutor(EXIT_NOTICE_DELAY.toMillis(), TimeUnit.MILLISECONDS));
  }

  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: is this still the process that was started
  private void exited(LocalNode node, Process process) {
    Duration delay;
    synchronized (this) {
      if (stopping || node.process() != process) {
        // Stopped on purpose, or someone started the node again already.
        return;
      }
      delay = restartAfter != null && isFailure(process.exitValue()) ? restartAfter : null;
    }
    listener.exited(node, process.pid(), process.exitValue(), Optional.ofNullable(delay));
    if (delay == null) {
      return;
    }
    CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS)
        .execute(
            () -> {
              Process again;
              try {
                synchronized (this) {
                  if (stopping || node.process() != process) {
                    return;
                  }
                  start(node);
                  again = node.process();
                }
              } catch (RuntimeException e) {
                listener.restartFailed(node, e);
                return;
              }
              watch(node, again);
              listener.restarted(node);
            });
  }

  /**
   * Writes the state file ({@link #stateTsv}) atomically: readers see the old or the new file,
   * never a part.
   */
  public synchronized void writeState() throws IOException {
    List<OptionalLong> pids = new ArrayList<>();
    for (LocalNode node : nodes) {
      pids.add(node.isAlive() ? OptionalLong.of(node.pid()) : OptionalLong.empty());
    }
    Files.createDirectories(plan.dir());
    Path tmp = plan.dir().resolve(STATE_FILE + ".tmp");
    Files.writeString(tmp, stateTsv(plan.nodes(), pids));
    Files.move(
        tmp, plan.stateFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Stops every node that runs: SIGCONT and SIGTERM to all, then SIGKILL to those still running
   * after {@code grace}. From its start no node starts again. A second call returns at once.
   */
  public void stop(Duration grace) {
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
    }
    List<LocalNode> running = nodes.stream().filter(LocalNode::isAlive).toList();
    if (!running.isEmpty()) {
      listener.stopping(running);
    }
    running.forEach(LocalNode::terminate);
    long deadline = System.nanoTime() + grace.toNanos();
    for (LocalNode node : running) {
      if (!node.awaitExit(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
        listener.killing(node, grace);
        node.kill();
      }
    }
  }
}
