package io.vigil.server.testing.lab;

import io.vigil.server.testing.NodeProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real Vigil node ({@code bin/vigil node} of the built distribution, see {@link
 * NodeProcess#distribution()}) on a lab {@link Host}, as it would run on a machine of its own:
 * listening on all of the host's addresses at port 8080, advertised as {@code http://<host>:8080},
 * its data in {@code <host dir>/vigil-data}, its log in {@code <host dir>/vigil.log}, and its
 * machine key at the default place in its home directory ({@code ~/.config/vigil/machine.key}; no
 * {@code VIGIL_MACHINE_KEY_FILE}).
 *
 * <pre>{@code
 * LabPostgres db = LabPostgres.start(lab.host("db"));
 * Host client = lab.host("client");
 * LabNode a = new LabNode(lab.host("node-a"), db, "admin-password").start();
 * a.awaitReady(client, Duration.ofSeconds(60));
 * new LabHttp(client).get(a.url() + "/cluster/active", null);
 * a.kill9();
 * }</pre>
 *
 * <p>{@link #kill9()} kills the JVM itself: the launcher ends in {@code exec java}, so the process
 * started is the JVM; {@link #awaitReady} checks that, and kill9 takes the process's descendants
 * along in any case.
 */
public final class LabNode implements AutoCloseable {

  public static final int PORT = 8080;

  private final Host host;
  private final Map<String, String> env = new HashMap<>();
  private HostProcess process;
  private Path caCert;

  /**
   * A node named after its host, on {@code db}, whose first start creates the user {@code admin}
   * with {@code adminPassword}.
   */
  public LabNode(Host host, LabPostgres db, String adminPassword) {
    this.host = host;
    env.put("VIGIL_DATA_DIR", dataDir().toString());
    env.put("VIGIL_HTTP_PORT", Integer.toString(PORT));
    env.put("VIGIL_HTTP_HOST", "0.0.0.0");
    env.put("VIGIL_NODE_NAME", host.name());
    env.put("VIGIL_ADVERTISED_URL", url());
    env.putAll(db.nodeEnv());
    env.put("VIGIL_ADMIN_PASSWORD", adminPassword);
    env.put("VIGIL_CACHE", "off");
    // Plain HTTP unless https() gives the node a certificate.
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    // Java takes user.home from the password database (root's is /root), not from HOME: make the
    // node's home the host's, so its default machine key file is the host's own.
    env.put("VIGIL_JAVA_OPTS", "-Duser.home=" + host.home());
  }

  /**
   * Serves HTTPS with the certificate {@code thumbprint} of the node's store ({@code <data
   * dir>/certificates}); readiness is then checked against the roots in {@code caCert}.
   */
  public LabNode https(String thumbprint, Path caCert) {
    this.caCert = caCert;
    env.remove("VIGIL_HTTP_ALLOW_PLAIN");
    env.put("VIGIL_TLS_THUMBPRINT", thumbprint);
    env.put("VIGIL_ADVERTISED_URL", "https://" + host.name() + ":" + PORT);
    return this;
  }

  /** Adds or replaces an environment variable for the next {@link #start()}. */
  public LabNode env(String name, String value) {
    env.put(name, value);
    return this;
  }

  public Host host() {
    return host;
  }

  public String name() {
    return host.name();
  }

  /**
   * {@code http://<host name>:8080} ({@code https} after {@link #https}): reachable from every
   * host.
   */
  public String url() {
    return (caCert == null ? "http://" : "https://") + host.name() + ":" + PORT;
  }

  public Path dataDir() {
    return host.dir().resolve("vigil-data");
  }

  public Path logFile() {
    return host.dir().resolve("vigil.log");
  }

  /** Where the node looks for its machine key: {@code ~/.config/vigil/machine.key}. */
  public Path machineKeyFile() {
    return host.home().resolve(".config").resolve("vigil").resolve("machine.key");
  }

  /**
   * Copies a machine key file into this node's home (owner-only, as Vigil would create it), so that
   * nodes can share one key ring without the certificate protector.
   */
  public LabNode installMachineKey(Path keyFile) {
    Path target = machineKeyFile();
    try {
      Files.createDirectories(target.getParent());
      Files.setPosixFilePermissions(
          target.getParent(), PosixFilePermissions.fromString("rwx------"));
      Files.copy(keyFile, target, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** Starts the node (again, after a stop or kill: same data, key and address). */
  public LabNode start() {
    if (isAlive()) {
      throw new IllegalStateException(name() + " is already running");
    }
    Path launcher = NodeProcess.distribution().toAbsolutePath().resolve("bin").resolve("vigil");
    process = host.start(List.of(launcher.toString(), "node"), env, logFile());
    return this;
  }

  /**
   * Waits until {@code /health/ready} answers 200 to requests from {@code from}, then checks that
   * the process started is the JVM.
   *
   * @throws IllegalStateException with the node's log when it exits or is not ready in time
   */
  public LabNode awaitReady(Host from, Duration timeout) {
    LabHttp http = new LabHttp(from, Duration.ofSeconds(2), caCert);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (http.status(url() + "/health/ready") != 200) {
      if (!isAlive()) {
        throw new IllegalStateException(
            name() + " exited with " + process.exitCode() + ":\n" + logText());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            name() + " not ready within " + timeout + " from " + from.name() + ":\n" + logText());
      }
      Commands.sleep(100);
    }
    Optional<String> program = ProcessHandle.of(process.pid()).flatMap(p -> p.info().command());
    if (program.isPresent() && !program.get().endsWith("/java")) {
      throw new IllegalStateException(
          "The node's process "
              + process.pid()
              + " runs "
              + program.get()
              + ", not java: bin/vigil must end in 'exec java' for kill9() to crash the node");
    }
    return this;
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** The process id of the node's JVM. */
  public long pid() {
    return process.pid();
  }

  /** SIGKILL: the node dies at once, as in a crash. */
  public void kill9() {
    if (process != null) {
      process.kill9();
    }
  }

  /**
   * SIGKILL to the node's JVM alone, as when it crashes: unlike {@link #kill9()}, the processes it
   * started (its dead man's switch) live on and do what they do when the node's process is gone.
   * Waits up to 10 s for the JVM to exit.
   */
  public void killJvm() {
    if (process != null) {
      ProcessHandle.of(process.pid()).ifPresent(ProcessHandle::destroyForcibly);
      process.awaitExit(Duration.ofSeconds(10));
    }
  }

  /** Sends {@code signal} ({@code STOP}, {@code CONT}) to the node's JVM alone. */
  public void signalJvm(String signal) {
    Commands.run("kill", "-" + signal, Long.toString(process.pid())).orThrow();
  }

  /**
   * SIGTERM: a graceful stop (the node hands its role over); waits up to 30 s, then kills.
   *
   * @return the exit code, or -1 when the node never started
   */
  public int stop() {
    return process == null ? -1 : process.stop(Duration.ofSeconds(30));
  }

  /** The node's log so far (all its starts). */
  public String logText() {
    try {
      return Files.exists(logFile()) ? Files.readString(logFile()) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  @Override
  public void close() {
    kill9();
  }

  @Override
  public String toString() {
    return name() + " at " + url();
  }
}
