package io.vigil.server.cli;

import io.vigil.server.db.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * {@code vigil start-dev --nodes N} (N from 2 to {@value #MAX_NODES}): a development cluster on one
 * machine. It runs a PostgreSQL server (the one named by {@code VIGIL_DB_URL}, else an embedded one
 * with its data in {@code <data dir>/pg}, kept between runs) and N {@code bin/vigil node} processes
 * of this same distribution, named {@code node-1..N}, on consecutive loopback ports, sharing the
 * database, the administrator password and one machine key file (they share one machine). It stays
 * in the foreground until SIGTERM or Ctrl+C.
 *
 * <p>Failures and races, as the user sees them:
 *
 * <ul>
 *   <li>Everything that can be checked without side effects (node count, ports, a free port, the
 *       distribution's launcher) is checked first, so a usage error changes nothing on disk.
 *   <li>When a node does not become ready (it exits, or {@link #READY_TIMEOUT} passes), everything
 *       started so far is stopped and the error names the node and its log file.
 *   <li>A node that exits while the cluster runs is reported and left down: killing the active node
 *       is how a developer watches a failover. When every node is gone, PostgreSQL keeps running
 *       until the user stops the command.
 *   <li>On SIGTERM or Ctrl+C (a JVM shutdown hook) the nodes get SIGTERM, then are killed after
 *       {@link #STOP_GRACE}; PostgreSQL stops after them, so no node loses its database while
 *       stopping. A start-up that is still running when the signal arrives starts no further node.
 *   <li>If this process itself is killed with SIGKILL nothing is cleaned up; the next run's
 *       embedded PostgreSQL then fails to start with a message that says how to stop the old one.
 * </ul>
 */
final class DevClusterCommand {

  static final Path DEFAULT_DATA_DIR = Path.of(".vigil", "dev-cluster");
  static final int DEFAULT_BASE_PORT = 8081;
  static final int MAX_NODES = 9;
  static final String HOST = "127.0.0.1";
  static final Duration READY_TIMEOUT = Duration.ofSeconds(180);
  static final Duration STOP_GRACE = Duration.ofSeconds(15);

  /** Where the embedded PostgreSQL keeps its data and which database the nodes share. */
  static final String DATABASE_NAME = "vigil";

  /** The line start-dev writes to a node's log before each start. */
  static final String RUN_MARKER = "--- start-dev: starting ";

  /** One node of the plan: its name, port, data directory and log file. */
  record NodePlan(String name, int port, Path dataDir, Path log) {
    String url() {
      return "http://" + HOST + ":" + port;
    }
  }

  /** The checked arguments: nothing is started or written while making one. */
  record Plan(Path dataDir, List<NodePlan> nodes) {
    Path machineKeyFile() {
      return dataDir.resolve("machine.key");
    }

    Path postgresDataDir() {
      return dataDir.resolve("pg");
    }

    Path postgresLog() {
      return dataDir.resolve("postgres.log");
    }
  }

  /** The database the nodes share; {@code embedded} is null when it is the user's server. */
  record SharedDatabase(String url, String user, String password, EmbeddedPostgres embedded) {}

  private final Terminal terminal;
  private final Plan plan;
  private final Path launcher;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private final List<Started> started = new ArrayList<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;
  private final Object databaseLock = new Object();
  private SharedDatabase database;

  private record Started(NodePlan node, Process process) {}

  private DevClusterCommand(Terminal terminal, Plan plan, Path launcher) {
    this.terminal = terminal;
    this.plan = plan;
    this.launcher = launcher;
  }

  /**
   * Checks {@code --nodes}; 1 is the plain single node, which {@code start-dev} runs in-process.
   *
   * @throws CliException a usage error naming the allowed range
   */
  static void checkNodeCount(int nodes) {
    if (nodes < 1 || nodes > MAX_NODES) {
      throw CliException.usage(
          "nodes_out_of_range",
          "--nodes "
              + nodes
              + " is out of range: use 1 for a single node or 2 to "
              + MAX_NODES
              + " for a development cluster on this machine.");
    }
  }

  /**
   * The nodes' names, ports and folders.
   *
   * @param basePort the first node's port ({@code --http-port}); null for {@value
   *     #DEFAULT_BASE_PORT}, 0 for any free ports
   * @param dataDir {@code --data-dir}; null for {@code ./.vigil/dev-cluster}
   * @throws CliException a usage error when the ports do not fit below 65536
   */
  static Plan plan(int nodes, Integer basePort, Path dataDir) {
    checkNodeCount(nodes);
    int base = basePort == null ? DEFAULT_BASE_PORT : basePort;
    if (base < 0 || (base > 0 && base + nodes - 1 > 65535)) {
      throw CliException.usage(
          "port_out_of_range",
          "--http-port "
              + base
              + " does not leave room for "
              + nodes
              + " nodes on consecutive ports: use a port from 1 to "
              + (65536 - nodes)
              + " (or 0 for any free ports).");
    }
    Path root = (dataDir != null ? dataDir : DEFAULT_DATA_DIR).toAbsolutePath().normalize();
    List<NodePlan> list = new ArrayList<>();
    java.util.Set<Integer> taken = new java.util.HashSet<>();
    for (int k = 1; k <= nodes; k++) {
      String name = "node-" + k;
      int port = base + k - 1;
      if (base == 0) {
        // The system may hand out the same free port twice; every node needs its own.
        do {
          port = freePort();
        } while (taken.contains(port));
        taken.add(port);
      }
      Path dir = root.resolve(name);
      list.add(new NodePlan(name, port, dir, dir.resolve(name + ".log")));
    }
    return new Plan(root, List.copyOf(list));
  }

  /**
   * Fails with {@code port_in_use} when another process listens on a node's port: a node would
   * otherwise start, fail and leave the user to find out why in its log.
   */
  static void checkPortsFree(Plan plan) {
    for (NodePlan node : plan.nodes()) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(HOST), node.port()));
      } catch (IOException e) {
        throw new CliException(
            ExitCodes.ERROR,
            "port_in_use",
            "Port "
                + node.port()
                + " for "
                + node.name()
                + " is in use on "
                + HOST
                + ": stop the process that uses it (an earlier start-dev?), or choose other ports"
                + " with --http-port (the first node's port; the others follow).");
      }
    }
  }

  /**
   * The distribution's launcher, {@code bin/vigil} ({@code bin/vigil.cmd} on Windows), found from
   * the jar this class runs from ({@code <home>/lib/*.jar}), else from {@code VIGIL_HOME}.
   *
   * @return null when neither names a distribution with a launcher
   */
  static Path launcher(Path codeSource, String vigilHome, boolean windows) {
    String name = windows ? "vigil.cmd" : "vigil";
    List<Path> homes = new ArrayList<>();
    if (codeSource != null
        && codeSource.getFileName() != null
        && codeSource.getFileName().toString().endsWith(".jar")
        && codeSource.getParent() != null
        && codeSource.getParent().getParent() != null) {
      homes.add(codeSource.getParent().getParent());
    }
    if (vigilHome != null && !vigilHome.isBlank()) {
      homes.add(Path.of(vigilHome));
    }
    for (Path home : homes) {
      Path candidate = home.resolve("bin").resolve(name);
      if (Files.isRegularFile(candidate) && (windows || Files.isExecutable(candidate))) {
        return candidate.toAbsolutePath().normalize();
      }
    }
    return null;
  }

  /**
   * A node's environment: this process's environment with the node's name, port, folder, the shared
   * database, password and machine key file. {@code VIGIL_ADVERTISED_URL} is dropped, since one
   * value cannot be right for every node; each advertises its own loopback URL.
   *
   * @param adminPassword null to leave the administrator password alone (the user set none and the
   *     database already has users)
   */
  static Map<String, String> nodeEnv(
      Map<String, String> base, Plan plan, NodePlan node, SharedDatabase db, String adminPassword) {
    Map<String, String> env = new HashMap<>(base);
    env.remove("VIGIL_ADVERTISED_URL");
    env.remove("VIGIL_ADMIN_PASSWORD");
    env.remove("VIGIL_DB_USER");
    env.remove("VIGIL_DB_PASSWORD");
    // A development cluster is plain HTTP on loopback, like start-dev: its nodes run "vigil node",
    // which serves HTTPS unless plain HTTP is chosen.
    env.remove("VIGIL_TLS_THUMBPRINT");
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    env.put("VIGIL_NODE_NAME", node.name());
    env.put("VIGIL_HTTP_PORT", Integer.toString(node.port()));
    env.put("VIGIL_HTTP_HOST", HOST);
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
   * Runs the cluster in the foreground; returns once a shutdown (SIGTERM, Ctrl+C) has stopped
   * everything.
   */
  static int run(Terminal terminal, int nodes, Integer basePort, Path dataDir)
      throws InterruptedException {
    Plan plan = plan(nodes, basePort, dataDir);
    checkPortsFree(plan);
    Path launcher = launcher(codeSource(), terminal.env().get("VIGIL_HOME"), isWindows());
    if (launcher == null) {
      throw new CliException(
          ExitCodes.ERROR,
          "no_distribution",
          "start-dev --nodes "
              + nodes
              + " starts each node with the distribution's bin/vigil, but this program runs from "
              + codeSource()
              + ", not from an installed distribution: build one with ./mvnw package and run"
              + " vigil-server/target/vigil/bin/vigil start-dev --nodes "
              + nodes
              + ".");
    }
    DevClusterCommand cluster = new DevClusterCommand(terminal, plan, launcher);
    Thread hook = new Thread(cluster::stop, "vigil-dev-cluster-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      cluster.start();
    } catch (RuntimeException e) {
      cluster.stop();
      removeHook(hook);
      throw e;
    }
    cluster.stopped.await();
    return ExitCodes.OK;
  }

  private void start() {
    try {
      Files.createDirectories(plan.dataDir());
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "data_dir",
          "Cannot create the data directory "
              + plan.dataDir()
              + " ("
              + e
              + "): choose a folder you may write with --data-dir.");
    }
    SharedDatabase db;
    // Held while PostgreSQL starts, so a stop that arrives meanwhile waits and then stops it.
    synchronized (databaseLock) {
      if (stopping) {
        throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before PostgreSQL started.");
      }
      db = openDatabase();
      database = db;
    }
    String adminPassword = adminPassword(db);
    PrintLines out = new PrintLines(terminal);
    for (NodePlan node : plan.nodes()) {
      startNode(node, nodeEnv(terminal.env(), plan, node, db, adminPassword));
    }
    out.line(
        "Started "
            + plan.nodes().size()
            + " nodes; waiting until they are ready (logs in "
            + plan.dataDir()
            + ")...");
    awaitReady();
    for (Started s : started()) {
      // Ctrl+C signals the nodes too (one process group); the short delay lets the shutdown hook
      // mark the stop first, so those exits are not reported as unexpected.
      s.process()
          .onExit()
          .thenRunAsync(
              () -> exited(s), CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS));
    }
    out.line("");
    out.print(statusTable());
    Started active = awaitActive(Duration.ofSeconds(20));
    out.line("");
    if (active != null) {
      out.line(
          "To watch a failover, kill the active node: kill -9 "
              + active.process().pid()
              + " ("
              + active.node().name()
              + ")");
    } else {
      out.line(
          "No node reports itself active yet (/cluster/active). To watch a failover, kill the"
              + " active node with kill -9 <its PID>");
    }
    // Ask a node that survives the kill: the active one will not answer.
    String watch =
        plan.nodes().stream()
            .filter(n -> active == null || !n.equals(active.node()))
            .findFirst()
            .orElseThrow()
            .url();
    out.line("and follow it with: vigil cluster status --server " + watch);
    out.line("Press Ctrl+C to stop the nodes and PostgreSQL.");
  }

  /** The user's PostgreSQL (VIGIL_DB_URL) or the embedded one, migrated to the current schema. */
  private SharedDatabase openDatabase() {
    Map<String, String> env = terminal.env();
    String url = env.get("VIGIL_DB_URL");
    SharedDatabase db;
    if (url != null && !url.isBlank()) {
      if (!url.startsWith("jdbc:postgresql:")) {
        throw new CliException(
            ExitCodes.ERROR,
            "postgres_required",
            "VIGIL_DB_URL="
                + url
                + " is not a PostgreSQL URL: the nodes of a cluster share one PostgreSQL"
                + " database. Set it to jdbc:postgresql://HOST:5432/DATABASE, or unset it to use"
                + " an embedded PostgreSQL.");
      }
      db =
          new SharedDatabase(
              url.trim(),
              blankToNull(env.get("VIGIL_DB_USER")),
              env.get("VIGIL_DB_PASSWORD"),
              null);
      terminal.out().println("Using PostgreSQL at " + db.url());
    } else {
      db = startEmbeddedPostgres();
      terminal
          .out()
          .println(
              "PostgreSQL at " + db.url() + " (user postgres, log in " + plan.postgresLog() + ")");
    }
    terminal.out().flush();
    return db;
  }

  private SharedDatabase startEmbeddedPostgres() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      throw new CliException(
          ExitCodes.ERROR,
          "postgres_required",
          "No embedded PostgreSQL for "
              + System.getProperty("os.name")
              + " on "
              + System.getProperty("os.arch")
              + ": Vigil ships PostgreSQL only for Linux x86-64. Set VIGIL_DB_URL (and"
              + " VIGIL_DB_USER, VIGIL_DB_PASSWORD) to a PostgreSQL server the nodes can share,"
              + " e.g. jdbc:postgresql://localhost:5432/vigil.");
    }
    try {
      Class.forName(
          "io.zonky.test.db.postgres.embedded.EmbeddedPostgres",
          false,
          DevClusterCommand.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "postgres_required",
          "The embedded PostgreSQL is not on the class path: it ships in the distribution's"
              + " lib/dev folder, which bin/vigil adds for start-dev. Run bin/vigil start-dev, or"
              + " set VIGIL_DB_URL (and VIGIL_DB_USER, VIGIL_DB_PASSWORD) to a PostgreSQL server"
              + " the nodes can share.");
    }
    Path dir = plan.postgresDataDir();
    // Its progress lines would bury the table below; failures still show, and say where to look.
    if (LoggerFactory.getLogger("io.zonky.test") instanceof ch.qos.logback.classic.Logger l) {
      l.setLevel(ch.qos.logback.classic.Level.WARN);
    }
    terminal.out().println("Starting PostgreSQL (data in " + dir + ")...");
    terminal.out().flush();
    EmbeddedPostgres pg;
    try {
      pg =
          EmbeddedPostgres.builder()
              .setDataDirectory(dir)
              .setCleanDataDirectory(false)
              .setPort(freePort())
              .setServerConfig("listen_addresses", HOST)
              .setRegisterShutdownHook(false)
              .setOutputRedirector(ProcessBuilder.Redirect.appendTo(plan.postgresLog().toFile()))
              .setErrorRedirector(ProcessBuilder.Redirect.appendTo(plan.postgresLog().toFile()))
              .start();
    } catch (IOException | RuntimeException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "postgres_failed",
          "Cannot start the embedded PostgreSQL in "
              + dir
              + " ("
              + e.getMessage()
              + "; details in "
              + plan.postgresLog()
              + "). If an earlier start-dev was killed, its PostgreSQL may still run: stop it"
              + " with kill $(head -n 1 "
              + dir.resolve("postmaster.pid")
              + "). To start over with an empty database, delete "
              + dir
              + ".");
    }
    String base = "jdbc:postgresql://" + HOST + ":" + pg.getPort() + "/";
    try (Connection c = DriverManager.getConnection(base + "postgres", "postgres", null);
        Statement s = c.createStatement()) {
      boolean exists;
      try (ResultSet rs =
          s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE_NAME + "'")) {
        exists = rs.next();
      }
      if (!exists) {
        s.execute("CREATE DATABASE " + DATABASE_NAME);
      }
    } catch (SQLException e) {
      closeQuietly(pg);
      throw new CliException(
          ExitCodes.ERROR,
          "postgres_failed",
          "The embedded PostgreSQL in "
              + dir
              + " started but the database "
              + DATABASE_NAME
              + " cannot be created ("
              + e.getMessage()
              + "). Delete "
              + dir
              + " to start over with an empty database.");
    }
    return new SharedDatabase(base + DATABASE_NAME, "postgres", null, pg);
  }

  /**
   * Migrates the schema once here, so N nodes do not race to do it, and picks the administrator
   * password: the user's {@code VIGIL_ADMIN_PASSWORD}; else, for a database without users, a
   * generated one printed once; else none (the first start set it).
   */
  private String adminPassword(SharedDatabase db) {
    boolean hasUsers;
    try (Database d = Database.open(db.url(), db.user(), db.password(), 2)) {
      hasUsers =
          d.jdbi()
              .withHandle(
                  h -> h.createQuery("SELECT COUNT(*) FROM users").mapTo(Long.class).one() > 0);
    }
    String given = terminal.env().get("VIGIL_ADMIN_PASSWORD");
    if (given != null && !given.isEmpty()) {
      return given;
    }
    if (hasUsers) {
      terminal
          .out()
          .println("User admin keeps the password it got when this database was first used.");
      return null;
    }
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    String password = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    // Printed, never logged: this is the only place the user can learn it.
    terminal.out().println("Generated password for user admin on every node: " + password);
    terminal.out().println("(shown once; set VIGIL_ADMIN_PASSWORD to choose it)");
    terminal.out().flush();
    return password;
  }

  private synchronized void startNode(NodePlan node, Map<String, String> env) {
    if (stopping) {
      throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before every node started.");
    }
    try {
      Files.createDirectories(node.dataDir());
      // The log is appended to across runs; the marker lets a failure show this run's lines only.
      Files.writeString(
          node.log(),
          RUN_MARKER + node.name() + " at " + java.time.Instant.now() + "\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "node");
      pb.environment().clear();
      pb.environment().putAll(env);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(node.log().toFile()));
      pb.redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
      started.add(new Started(node, pb.start()));
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "node_failed",
          "Cannot start "
              + node.name()
              + " with "
              + launcher
              + " ("
              + e.getMessage()
              + "): check that the file is executable and the data directory "
              + node.dataDir()
              + " writable.");
    }
  }

  private synchronized List<Started> started() {
    return List.copyOf(started);
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    List<Started> waiting = new ArrayList<>(started());
    while (!waiting.isEmpty()) {
      if (stopping) {
        throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before every node was ready.");
      }
      for (var it = waiting.iterator(); it.hasNext(); ) {
        Started s = it.next();
        if (!s.process().isAlive()) {
          throw new CliException(
              ExitCodes.ERROR,
              "node_failed",
              s.node().name()
                  + " exited with code "
                  + s.process().exitValue()
                  + " before it was ready; its log "
                  + s.node().log()
                  + " says why:\n"
                  + tail(s.node().log(), 15));
        }
        if (status(s.node(), "/health/ready") == 200) {
          it.remove();
        }
      }
      if (System.nanoTime() > deadline) {
        Started late = waiting.getFirst();
        throw new CliException(
            ExitCodes.ERROR,
            "node_not_ready",
            late.node().name()
                + " did not answer /health/ready at "
                + late.node().url()
                + " within "
                + READY_TIMEOUT.toSeconds()
                + " s; see its log "
                + late.node().log()
                + ".");
      }
      sleep(200);
    }
  }

  /** The node whose {@code /cluster/active} answers 200, waiting up to {@code timeout}. */
  private Started awaitActive(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      boolean anyAnswers = false;
      for (Started s : started()) {
        int code = s.process().isAlive() ? status(s.node(), "/cluster/active") : -1;
        if (code == 200) {
          return s;
        }
        anyAnswers |= code == 503;
      }
      if (!anyAnswers) {
        // No node knows /cluster/active (or none runs): waiting would not change the answer.
        return null;
      }
      sleep(250);
    } while (System.nanoTime() < deadline && !stopping);
    return null;
  }

  private String statusTable() {
    Table table = new Table("NODE", "URL", "PID", "STATE", "LOG");
    for (Started s : started()) {
      String state;
      if (!s.process().isAlive()) {
        state = "exited";
      } else {
        state =
            switch (status(s.node(), "/cluster/active")) {
              case 200 -> "active";
              case 503 -> "standby";
              default -> "running";
            };
      }
      table.row(
          s.node().name(),
          s.node().url(),
          Long.toString(s.process().pid()),
          state,
          s.node().log().toString());
    }
    return table.render();
  }

  /** A node exited on its own: say so, leave it down, and report who takes over. */
  private void exited(Started s) {
    if (stopping) {
      return;
    }
    PrintLines out = new PrintLines(terminal);
    out.line(
        LocalTime.now().truncatedTo(ChronoUnit.SECONDS)
            + " "
            + s.node().name()
            + " (PID "
            + s.process().pid()
            + ") exited with code "
            + s.process().exitValue()
            + "; it stays down (start-dev does not restart nodes). Its log: "
            + s.node().log());
    if (started().stream().noneMatch(o -> o.process().isAlive())) {
      out.line("Every node has exited. PostgreSQL keeps running; press Ctrl+C to stop.");
      return;
    }
    long t0 = System.nanoTime();
    Thread.ofVirtual()
        .name("vigil-dev-cluster-failover-watch")
        .start(
            () -> {
              Started active = awaitActive(Duration.ofSeconds(60));
              if (active != null && !stopping) {
                out.line(
                    LocalTime.now().truncatedTo(ChronoUnit.SECONDS)
                        + " "
                        + active.node().name()
                        + " at "
                        + active.node().url()
                        + " (PID "
                        + active.process().pid()
                        + ") is active, "
                        + Duration.ofNanos(System.nanoTime() - t0).toMillis()
                        + " ms after "
                        + s.node().name()
                        + " exited was noticed.");
              }
            });
  }

  /**
   * Stops every node (SIGTERM, then a kill after {@link #STOP_GRACE}) and then PostgreSQL. Safe to
   * call more than once and from the shutdown hook while {@link #start} still runs.
   */
  void stop() {
    List<Started> nodes;
    SharedDatabase db;
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
      nodes = List.copyOf(started);
    }
    synchronized (databaseLock) {
      db = database;
    }
    PrintLines out = new PrintLines(terminal);
    try {
      List<Started> running = nodes.stream().filter(s -> s.process().isAlive()).toList();
      if (!running.isEmpty()) {
        out.line("Stopping " + running.size() + " node(s)...");
      }
      for (Started s : running) {
        // Windows launchers run java as a child of cmd.exe: signal the whole tree.
        s.process().descendants().forEach(ProcessHandle::destroy);
        s.process().destroy();
      }
      long deadline = System.nanoTime() + STOP_GRACE.toNanos();
      for (Started s : running) {
        long left = Math.max(0, deadline - System.nanoTime());
        try {
          if (!s.process().waitFor(left, TimeUnit.NANOSECONDS)) {
            out.line(
                s.node().name()
                    + " did not stop within "
                    + STOP_GRACE.toSeconds()
                    + " s; killing it.");
            s.process().descendants().forEach(ProcessHandle::destroyForcibly);
            s.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          s.process().destroyForcibly();
        }
      }
      if (db != null && db.embedded() != null) {
        Optional<ProcessHandle> postmaster = postmaster(plan.postgresDataDir());
        closeQuietly(db.embedded());
        // pg_ctl returns when the server has removed its pid file, a moment before the process
        // ends; wait for it, so nothing of the cluster is left when this command exits.
        postmaster.ifPresent(p -> awaitExit(p, Duration.ofSeconds(10)));
        out.line("Stopped PostgreSQL.");
      }
    } finally {
      stopped.countDown();
    }
  }

  private int status(NodePlan node, String path) {
    try {
      return http.send(
              HttpRequest.newBuilder(URI.create(node.url() + path))
                  .timeout(Duration.ofSeconds(2))
                  .build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Lines written together and flushed, so messages from several threads do not interleave. */
  private record PrintLines(Terminal terminal) {
    void line(String text) {
      synchronized (terminal) {
        terminal.out().println(text);
        terminal.out().flush();
      }
    }

    void print(String text) {
      synchronized (terminal) {
        terminal.out().print(text);
        terminal.out().flush();
      }
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      int from = 0;
      for (int i = all.size() - 1; i >= 0; i--) {
        if (all.get(i).startsWith(RUN_MARKER)) {
          from = i + 1;
          break;
        }
      }
      from = Math.max(from, all.size() - lines);
      return String.join("\n", all.subList(from, all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + log + ": " + e.getMessage() + ")";
    }
  }

  private static Path codeSource() {
    try {
      return Path.of(
          DevClusterCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  private static boolean isWindows() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
  }

  private static java.io.File nullDevice() {
    return new java.io.File(isWindows() ? "NUL" : "/dev/null");
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }

  /** The server process named by the first line of {@code postmaster.pid}, while it runs. */
  private static Optional<ProcessHandle> postmaster(Path dataDir) {
    try {
      List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
      return lines.isEmpty()
          ? Optional.empty()
          : ProcessHandle.of(Long.parseLong(lines.getFirst().trim()));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static void awaitExit(ProcessHandle process, Duration timeout) {
    try {
      process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      // Reported by the caller's check, if anyone looks; nothing more to do here.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(EmbeddedPostgres pg) {
    try {
      pg.close();
    } catch (IOException | RuntimeException e) {
      // Stopping anyway; pg_ctl has printed its reason to the PostgreSQL log.
    }
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down; the hook has run or will run harmlessly.
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.ERROR, "interrupted", "Interrupted while starting.");
    }
  }
}
