package io.vigil.server.testing;

import io.vigil.server.localcluster.LocalNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real Vigil node process started from the built distribution ({@code bin/vigil}), for
 * integration tests that restart, kill or stop nodes: a test-side face of {@link LocalNode}, the
 * harness that {@code vigil start-dev --nodes} uses too. Output goes to a log file in the data
 * directory's parent (or, for a node of a {@link ClusterFixture}, in its data directory).
 */
public final class NodeProcess implements AutoCloseable {

  private static final Duration EXIT_WAIT = Duration.ofSeconds(30);

  private final LocalNode node;

  NodeProcess(LocalNode node) {
    this.node = node;
  }

  /** The distribution's folder, built by {@code package} before the integration tests run. */
  public static Path distribution() {
    String dir = System.getProperty("vigil.dist.dir");
    Path path = dir != null ? Path.of(dir) : Path.of("target", "vigil");
    if (!Files.isExecutable(path.resolve("bin").resolve("vigil"))) {
      throw new IllegalStateException("No distribution at " + path + "; run ./mvnw verify");
    }
    return path;
  }

  /** The distribution's {@code bin/vigil}. */
  static Path launcher() {
    return distribution().resolve("bin").resolve("vigil");
  }

  /** A TCP port on 127.0.0.1 that nothing listens on right now. */
  public static int freePort() {
    return LocalNode.freePort();
  }

  /**
   * A node command ({@code node} or {@code start-dev}) with its own data directory and port.
   *
   * @param extraEnv environment beyond this JVM's and the defaults (VIGIL_DATA_DIR,
   *     VIGIL_HTTP_PORT, a machine key file beside the data directory, VIGIL_CACHE=off,
   *     VIGIL_HTTP_ALLOW_PLAIN=true)
   */
  public static NodeProcess create(String verb, Path dataDir, Map<String, String> extraEnv) {
    return create(verb, dataDir, freePort(), extraEnv);
  }

  /**
   * As {@link #create(String, Path, Map)} on a port the caller chose, e.g. so that a cluster's
   * nodes have known addresses. The port stays the same when the process is started again.
   */
  public static NodeProcess create(
      String verb, Path dataDir, int port, Map<String, String> extraEnv) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("VIGIL_DATA_DIR", dataDir.toString());
    env.put("VIGIL_HTTP_PORT", Integer.toString(port));
    env.put("VIGIL_HTTP_HOST", LocalNode.HOST);
    env.put(
        "VIGIL_MACHINE_KEY_FILE",
        dataDir.resolveSibling(dataDir.getFileName() + "-machine.key").toString());
    env.put("VIGIL_CACHE", "off");
    // "vigil node" serves HTTPS unless plain HTTP is chosen; tests that want HTTPS set
    // VIGIL_TLS_THUMBPRINT.
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    env.putAll(extraEnv);
    String name = env.getOrDefault("VIGIL_NODE_NAME", dataDir.getFileName().toString());
    return new NodeProcess(
        new LocalNode(
            new LocalNode.Spec(
                name,
                port,
                dataDir.resolveSibling(dataDir.getFileName() + ".log"),
                List.of(launcher().toString(), verb),
                env)));
  }

  /**
   * This node run as another (unprivileged) account through {@code setpriv}, for tests of file
   * permissions: the tests run as root, which reads every file. The data directory and the machine
   * key file's folder must be writable by that account.
   */
  public NodeProcess runAs(int uid, int gid) {
    LocalNode.Spec spec = node.spec();
    List<String> prefixed =
        new ArrayList<>(
            List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
    prefixed.addAll(spec.command());
    Map<String, String> withPath = new HashMap<>(spec.env());
    withPath.putIfAbsent("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    withPath.putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
    return new NodeProcess(new LocalNode(spec.withCommand(prefixed).withEnv(withPath)));
  }

  /** The harness node behind this one. */
  public LocalNode local() {
    return node;
  }

  public NodeProcess start() {
    node.start();
    return this;
  }

  /** Waits until {@code /health/ready} answers 200. */
  public NodeProcess awaitReady(Duration timeout) {
    node.awaitReady(timeout);
    return this;
  }

  /**
   * Waits until {@code /health/live} answers 200: the node is up, ready or not (a node that cannot
   * take the role stays up without becoming ready).
   */
  public NodeProcess awaitLive(Duration timeout) {
    node.awaitLive(timeout);
    return this;
  }

  public String url() {
    return node.url();
  }

  public long pid() {
    return node.pid();
  }

  public boolean isAlive() {
    return node.isAlive();
  }

  /** SIGTERM and wait: a graceful stop. */
  public int stop() {
    return signal("TERM");
  }

  /** SIGKILL: the process dies at once, as in a crash. */
  public void kill() {
    signal("KILL");
  }

  /**
   * Sends a signal (TERM, KILL, STOP, CONT); waits for the exit on TERM and KILL (killing the
   * process after 30 s) and returns its code, else 0; -1 when the node was never started.
   */
  public int signal(String name) {
    if (!node.hasStarted()) {
      return -1;
    }
    LocalNode.Signal signal = LocalNode.Signal.valueOf(name);
    node.signal(signal);
    if (signal == LocalNode.Signal.TERM || signal == LocalNode.Signal.KILL) {
      if (!node.awaitExit(EXIT_WAIT)) {
        node.kill();
      }
      return node.exitCode().orElse(-1);
    }
    return 0;
  }

  public String logText() {
    return node.logText();
  }

  /** Kills the process if it runs. */
  @Override
  public void close() {
    if (node.isAlive()) {
      node.kill();
    }
  }
}
