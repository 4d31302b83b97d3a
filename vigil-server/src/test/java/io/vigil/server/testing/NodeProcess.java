package io.vigil.server.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real Vigil node process started from the built distribution ({@code bin/vigil}), for
 * integration tests that restart, kill or stop nodes. Output goes to a log file in the data
 * directory's parent.
 */
public final class NodeProcess implements AutoCloseable {

  private final List<String> command;
  private final Map<String, String> env;
  private final Path log;
  private final int port;
  private Process process;

  private NodeProcess(List<String> command, Map<String, String> env, Path log, int port) {
    this.command = command;
    this.env = env;
    this.log = log;
    this.port = port;
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

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A node command ({@code node} or {@code start-dev}) with its own data directory and port.
   *
   * @param extraEnv environment beyond the defaults (VIGIL_DATA_DIR, VIGIL_HTTP_PORT, a machine key
   *     file inside the data directory, VIGIL_CACHE=off, VIGIL_HTTP_ALLOW_PLAIN=true)
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
    Map<String, String> env = new HashMap<>();
    env.put("VIGIL_DATA_DIR", dataDir.toString());
    env.put("VIGIL_HTTP_PORT", Integer.toString(port));
    env.put("VIGIL_HTTP_HOST", "127.0.0.1");
    env.put(
        "VIGIL_MACHINE_KEY_FILE",
        dataDir.resolveSibling(dataDir.getFileName() + "-machine.key").toString());
    env.put("VIGIL_CACHE", "off");
    // "vigil node" serves HTTPS unless plain HTTP is chosen; tests that want HTTPS set
    // VIGIL_TLS_THUMBPRINT.
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    env.putAll(extraEnv);
    List<String> command =
        new ArrayList<>(List.of(distribution().resolve("bin").resolve("vigil").toString(), verb));
    return new NodeProcess(
        command, env, dataDir.resolveSibling(dataDir.getFileName() + ".log"), port);
  }

  /**
   * This node run as another (unprivileged) account through {@code setpriv}, for tests of file
   * permissions: the tests run as root, which reads every file. The data directory and the machine
   * key file's folder must be writable by that account.
   */
  public NodeProcess runAs(int uid, int gid) {
    List<String> prefixed =
        new ArrayList<>(
            List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
    prefixed.addAll(command);
    Map<String, String> withPath = new HashMap<>(env);
    withPath.putIfAbsent("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    withPath.putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
    return new NodeProcess(prefixed, withPath, log, port);
  }

  public NodeProcess start() {
    try {
      Files.createDirectories(log.getParent());
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().putAll(env);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      process = pb.start();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until {@code /health/ready} answers 200. */
  public NodeProcess awaitReady(Duration timeout) {
    return await("/health/ready", timeout);
  }

  /**
   * Waits until {@code /health/live} answers 200: the node is up, ready or not (a node that cannot
   * take the role stays up without becoming ready).
   */
  public NodeProcess awaitLive(Duration timeout) {
    return await("/health/live", timeout);
  }

  private NodeProcess await(String path, Duration timeout) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "node exited with " + process.exitValue() + ":\n" + logText());
      }
      try {
        HttpResponse<Void> r =
            client.send(
                HttpRequest.newBuilder(URI.create(url() + path))
                    .timeout(Duration.ofSeconds(1))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return this;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      sleep(50);
    }
    throw new IllegalStateException(
        "node did not answer " + path + " within " + timeout + ":\n" + logText());
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** SIGTERM and wait: a graceful stop. */
  public int stop() {
    return signal("TERM");
  }

  /** SIGKILL: the process dies at once, as in a crash. */
  public void kill() {
    signal("KILL");
  }

  /** Sends a signal (TERM, KILL, STOP, CONT) with kill(1); waits for exit on TERM and KILL. */
  public int signal(String name) {
    if (process == null) {
      return -1;
    }
    try {
      new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
          .inheritIO()
          .start()
          .waitFor();
      if (name.equals("TERM") || name.equals("KILL")) {
        if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
        return process.exitValue();
      }
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
