package io.vigil.server.cli;

import io.vigil.server.db.Database;
import io.vigil.server.localcluster.LocalCluster;
import io.vigil.server.localcluster.LocalNode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URISyntaxException;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * {@code vigil start-dev --nodes N} (N from 2 to {@value #MAX_NODES}): a development cluster on one
 * machine. It runs a PostgreSQL server (the one named by {@code VIGIL_DB_URL}, else an embedded one
 * with its data in {@code <data dir>/pg}, kept between runs) and N {@code bin/vigil node} processes
 * of this same distribution as a {@link LocalCluster}: named {@code node-1..N}, on consecutive
 * loopback ports, sharing the database, the administrator password and one machine key file (they
 * share one machine). It stays in the foreground until SIGTERM or Ctrl+C. This class keeps what is
 * the command's own: the arguments, the database, the administrator password and the messages.
 *
 * <p>While it runs, {@code <data dir>/nodes.tsv} has one line per node, {@code
 * name<TAB>url<TAB>pid} ({@code -} while the node does not run), rewritten atomically on every
 * start and exit of a node and removed at the end, so that scripts can signal one node.
 *
 * <p>Failures and races, as the user sees them:
 *
 * <ul>
 *   <li>Everything that can be checked without side effects (node count, ports, a free port, the
 *       restart delay, the distribution's launcher) is checked first, so a usage error changes
 *       nothing on disk.
 *   <li>When a node does not become ready (it exits, or {@link #READY_TIMEOUT} passes), everything
 *       started so far is stopped and the error names the node and its log file.
 *   <li>A node that exits while the cluster runs is reported and, by default, left down: killing
 *       the active node is how a developer watches a failover. With {@code --restart-after S} a
 *       node that failed (see {@link LocalCluster#isFailure}) is started again S seconds later, as
 *       the packaged systemd unit's {@code Restart=on-failure} would. When every node is gone,
 *       PostgreSQL keeps running until the user stops the command.
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
  static final int MAX_RESTART_AFTER = 3600;
  static final String HOST = LocalNode.HOST;
  static final Duration READY_TIMEOUT = Duration.ofMinutes(3);
  static final Duration STOP_GRACE = Duration.ofSeconds(15);

  /** Where the embedded PostgreSQL keeps its data and which database the nodes share. */
  static final String DATABASE_NAME = "vigil";

  /** The database the nodes share; {@code embedded} is null when it is the user's server. */
  record SharedDatabase(String url, String user, String password, EmbeddedPostgres embedded) {
    LocalCluster.Database login() {
      return new LocalCluster.Database(url, user, password);
    }
  }

  private final Terminal terminal;
  private final LocalCluster.Plan plan;
  private final Path launcher;
  private final Duration restartAfter;
  private final PrintLines out;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Object databaseLock = new Object();
  private volatile boolean stopping;
  private SharedDatabase database;
  private volatile LocalCluster cluster;

  private DevClusterCommand(
      Terminal terminal, LocalCluster.Plan plan, Path launcher, Duration restartAfter) {
    this.terminal = terminal;
    this.plan = plan;
    this.launcher = launcher;
    this.restartAfter = restartAfter;
    this.out = new PrintLines(terminal);
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
   * Checks {@code --restart-after}: seconds from 0 to {@value #MAX_RESTART_AFTER}, for a cluster.
   *
   * @param nodes {@code --nodes}, null when not given
   * @throws CliException a usage error
   */
  static void checkRestartAfter(Integer restartAfter, Integer nodes) {
    if (restartAfter == null) {
      return;
    }
    if (nodes == null || nodes < 2) {
      throw CliException.usage(
          "restart_after_without_cluster",
          "--restart-after restarts the nodes of a development cluster: use it with --nodes 2 to "
              + MAX_NODES
              + ".");
    }
    if (restartAfter < 0 || restartAfter > MAX_RESTART_AFTER) {
      throw CliException.usage(
          "restart_after_out_of_range",
          "--restart-after "
              + restartAfter
              + " is out of range: use 0 to "
              + MAX_RESTART_AFTER
              + " seconds, or leave it out to keep a node that exits down.");
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
  static LocalCluster.Plan plan(int nodes, Integer basePort, Path dataDir) {
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
    List<Integer> ports =
        base == 0 ? LocalCluster.freePorts(nodes) : LocalCluster.consecutivePorts(base, nodes);
    return LocalCluster.plan(dataDir != null ? dataDir : DEFAULT_DATA_DIR, ports);
  }

  /**
   * Fails with {@code port_in_use} when another process listens on a node's port: a node would
   * otherwise start, fail and leave the user to find out why in its log.
   */
  static void checkPortsFree(LocalCluster.Plan plan) {
    LocalCluster.firstPortInUse(plan)
        .ifPresent(
            node -> {
              throw new CliException(
                  ExitCodes.ERROR,
                  "port_in_use",
                  "Port "
                      + node.port()
                      + " for "
                      + node.name()
                      + " is in use on "
                      + HOST
                      + ": stop the process that uses it (an earlier start-dev?), or choose other"
                      + " ports with --http-port (the first node's port; the others follow).");
            });
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
   * Runs the cluster in the foreground; returns once a shutdown (SIGTERM, Ctrl+C) has stopped
   * everything.
   *
   * @param restartAfter {@code --restart-after} in seconds; null to leave a node that exits down
   */
  static int run(Terminal terminal, int nodes, Integer basePort, Path dataDir, Integer restartAfter)
      throws InterruptedException {
    checkRestartAfter(restartAfter, nodes);
    LocalCluster.Plan plan = plan(nodes, basePort, dataDir);
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
    DevClusterCommand command =
        new DevClusterCommand(
            terminal,
            plan,
            launcher,
            restartAfter == null ? null : Duration.ofSeconds(restartAfter));
    Thread hook = new Thread(command::stop, "vigil-dev-cluster-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      command.start();
    } catch (RuntimeException e) {
      command.stop();
      removeHook(hook);
      throw e;
    }
    command.stopped.await();
    return ExitCodes.OK;
  }

  private void start() {
    try {
      Files.createDirectories(plan.dir());
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "data_dir",
          "Cannot create the data directory "
              + plan.dir()
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
    LocalCluster nodes =
        new LocalCluster(
            plan,
            List.of(launcher.toString(), "node"),
            node -> LocalCluster.nodeEnv(terminal.env(), plan, node, db.login(), adminPassword),
            new Reports());
    synchronized (this) {
      if (stopping) {
        throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before every node started.");
      }
      cluster = nodes;
    }
    for (LocalNode node : nodes.nodes()) {
      try {
        nodes.start(node);
      } catch (CancellationException e) {
        throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before every node started.");
      } catch (java.io.UncheckedIOException e) {
        throw new CliException(
            ExitCodes.ERROR,
            "node_failed",
            "Cannot start "
                + node.name()
                + " with "
                + launcher
                + " ("
                + e.getCause().getMessage()
                + "): check that the file is executable and the data directory "
                + plan.nodes().get(nodes.nodes().indexOf(node)).dataDir()
                + " writable.");
      }
    }
    writeState(nodes, true);
    out.line(
        "Started "
            + plan.nodes().size()
            + " nodes; waiting until they are ready (logs in "
            + plan.dir()
            + ")...");
    awaitReady(nodes);
    nodes.supervise(restartAfter);
    out.line("");
    out.print(statusTable(nodes));
    Optional<LocalNode> active = nodes.awaitActive(Duration.ofSeconds(20));
    out.line("");
    if (active.isPresent()) {
      out.line(
          "To watch a failover, kill the active node: kill -9 "
              + active.get().pid()
              + " ("
              + active.get().name()
              + ")");
    } else {
      out.line(
          "No node reports itself active yet (/cluster/active). To watch a failover, kill the"
              + " active node with kill -9 <its PID>");
    }
    // Ask a node that survives the kill: the active one will not answer.
    String watch =
        nodes.nodes().stream()
            .filter(n -> active.isEmpty() || n != active.get())
            .findFirst()
            .orElseThrow()
            .url();
    out.line("and follow it with: vigil cluster status --server " + watch);
    if (restartAfter != null) {
      out.line(
          "A node that fails is started again after "
              + restartAfter.toSeconds()
              + " s (--restart-after); the nodes' PIDs are in "
              + plan.stateFile()
              + ".");
    }
    out.line("Press Ctrl+C to stop the nodes and PostgreSQL.");
  }

  private void awaitReady(LocalCluster nodes) {
    try {
      nodes.awaitReady(READY_TIMEOUT);
    } catch (CancellationException e) {
      throw new CliException(ExitCodes.ERROR, "stopped", "Stopped before every node was ready.");
    } catch (LocalNode.NotReadyException e) {
      LocalNode node = e.node();
      if (e.exitCode().isPresent()) {
        throw new CliException(
            ExitCodes.ERROR,
            "node_failed",
            node.name()
                + " exited with code "
                + e.exitCode().getAsInt()
                + " before it was ready; its log "
                + node.log()
                + " says why:\n"
                + node.logTail(15));
      }
      throw new CliException(
          ExitCodes.ERROR,
          "node_not_ready",
          node.name()
              + " did not answer /health/ready at "
              + node.url()
              + " within "
              + READY_TIMEOUT.toSeconds()
              + " s; see its log "
              + node.log()
              + ".");
    }
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
          .println("PostgreSQL at " + db.url() + " (user postgres, log in " + postgresLog() + ")");
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
    Path dir = postgresDataDir();
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
              .setPort(LocalNode.freePort())
              .setServerConfig("listen_addresses", HOST)
              .setRegisterShutdownHook(false)
              .setOutputRedirector(ProcessBuilder.Redirect.appendTo(postgresLog().toFile()))
              .setErrorRedirector(ProcessBuilder.Redirect.appendTo(postgresLog().toFile()))
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
              + postgresLog()
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

  private static String statusTable(LocalCluster nodes) {
    Table table = new Table("NODE", "URL", "PID", "STATE", "LOG");
    for (LocalCluster.Status s : nodes.status()) {
      table.row(
          s.node().name(),
          s.node().url(),
          Long.toString(s.node().pid()),
          s.state().label(),
          s.node().log().toString());
    }
    return table.render();
  }

  /**
   * Writes {@code nodes.tsv}; at start-up a failure is an error, later a warning (the cluster runs
   * on).
   */
  private void writeState(LocalCluster nodes, boolean starting) {
    try {
      nodes.writeState();
    } catch (IOException e) {
      if (starting) {
        throw new CliException(
            ExitCodes.ERROR,
            "data_dir",
            "Cannot write "
                + plan.stateFile()
                + " ("
                + e
                + "): choose a folder you may write with --data-dir.");
      }
      out.line("warning: cannot update " + plan.stateFile() + " (" + e + ")");
    }
  }

  /** What the running cluster reports, as lines for the user. */
  private final class Reports implements LocalCluster.Listener {
    @Override
    public void exited(LocalNode node, long pid, int exitCode, Optional<Duration> restartIn) {
      LocalCluster nodes = cluster;
      writeState(nodes, false);
      String what =
          restartIn.isPresent()
              ? "start-dev starts it again in "
                  + restartIn.get().toSeconds()
                  + " s (--restart-after)."
              : restartAfter != null
                  ? "it stays down (it stopped cleanly; --restart-after restarts nodes that"
                      + " fail)."
                  : "it stays down (start-dev does not restart nodes without --restart-after).";
      out.line(
          now()
              + " "
              + node.name()
              + " (PID "
              + pid
              + ") exited with code "
              + exitCode
              + "; "
              + what
              + " Its log: "
              + node.log());
      if (nodes.nodes().stream().noneMatch(LocalNode::isAlive)) {
        if (restartIn.isEmpty()) {
          out.line("Every node has exited. PostgreSQL keeps running; press Ctrl+C to stop.");
        }
        return;
      }
      long t0 = System.nanoTime();
      Thread.ofVirtual()
          .name("vigil-dev-cluster-failover-watch")
          .start(
              () -> {
                Optional<LocalNode> active = nodes.awaitActive(Duration.ofSeconds(60));
                if (active.isPresent() && !stopping) {
                  LocalNode a = active.get();
                  out.line(
                      now()
                          + " "
                          + a.name()
                          + " at "
                          + a.url()
                          + " (PID "
                          + a.pid()
                          + ") is active, "
                          + Duration.ofNanos(System.nanoTime() - t0).toMillis()
                          + " ms after "
                          + node.name()
                          + " exited was noticed.");
                }
              });
    }

    @Override
    public void restarted(LocalNode node) {
      writeState(cluster, false);
      out.line(now() + " " + node.name() + " started again (PID " + node.pid() + ").");
    }

    @Override
    public void restartFailed(LocalNode node, RuntimeException cause) {
      out.line(
          now()
              + " "
              + node.name()
              + " cannot be started again ("
              + cause.getMessage()
              + "); it stays down.");
    }

    @Override
    public void stopping(List<LocalNode> running) {
      out.line("Stopping " + running.size() + " node(s)...");
    }

    @Override
    public void killing(LocalNode node, Duration grace) {
      out.line(node.name() + " did not stop within " + grace.toSeconds() + " s; killing it.");
    }

    private static String now() {
      return LocalTime.now(java.time.ZoneId.systemDefault())
          .truncatedTo(ChronoUnit.SECONDS)
          .toString();
    }
  }

  /**
   * Stops every node (SIGTERM, then a kill after {@link #STOP_GRACE}) and then PostgreSQL. Safe to
   * call more than once and from the shutdown hook while {@link #start} still runs.
   */
  void stop() {
    LocalCluster nodes;
    SharedDatabase db;
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
      nodes = cluster;
    }
    synchronized (databaseLock) {
      db = database;
    }
    try {
      if (nodes != null) {
        nodes.stop(STOP_GRACE);
        try {
          Files.deleteIfExists(plan.stateFile());
        } catch (IOException e) {
          // Stale pids in a file nobody reads until the next start rewrites it.
        }
      }
      if (db != null && db.embedded() != null) {
        Optional<ProcessHandle> postmaster = postmaster(postgresDataDir());
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

  private Path postgresDataDir() {
    return plan.dir().resolve("pg");
  }

  private Path postgresLog() {
    return plan.dir().resolve("postgres.log");
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
}
