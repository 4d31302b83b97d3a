package io.vigil.server.testing.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * This machine's loopback interface as a {@link Machine}: programs run in the test JVM's own
 * network, as an unprivileged {@link LabAccount} through {@code setpriv}, in a folder of their own.
 * For servers that the test JVM must reach directly, e.g. through a {@code TcpProxy}, which a lab
 * host's network does not allow. Each machine gets a port of its own ({@link #port(int)}), chosen
 * free when it is made and kept for its life, so a server stopped and started again (or rebuilt)
 * listens where it did.
 *
 * <pre>{@code
 * try (LoopbackMachine a = LoopbackMachine.create("db-a");
 *     LabPostgres db = LabPostgres.start(a)) {
 *   db.jdbcUrl(); // jdbc:postgresql://127.0.0.1:<a's port>/vigil
 * }
 * }</pre>
 *
 * <p>{@link #close()} kills what it started, then deletes its folder. Thread-safe.
 */
public final class LoopbackMachine implements Machine, AutoCloseable {

  private static final String ADDRESS = "127.0.0.1";

  private final String name;
  private final Path dir;
  private final int port;
  private final List<HostProcess> processes = new CopyOnWriteArrayList<>();

  private LoopbackMachine(String name, Path dir, int port) {
    this.name = name;
    this.dir = dir;
    this.port = port;
  }

  /** Why programs cannot run as an unprivileged account here, or null when they can. */
  public static String unavailableReason() {
    String os = System.getProperty("os.name");
    if (!os.toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return "running programs as another account needs Linux, and this is " + os;
    }
    int uid = Lab.effectiveUid();
    if (uid != 0) {
      return "running programs as another account needs root, and this JVM runs as uid " + uid;
    }
    return Commands.find("setpriv") == null
        ? "setpriv is not installed (apt-get install -y util-linux)"
        : null;
  }

  /**
   * A new loopback machine with a fresh folder in the system's temporary folder.
   *
   * @param name a label for its folder and messages
   */
  public static LoopbackMachine create(String name) {
    try {
      Path dir = Files.createTempDirectory("vigil-" + name + "-");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      return new LoopbackMachine(name, dir, freePort());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ADDRESS))) {
      return s.getLocalPort();
    }
  }

  /** {@code 127.0.0.1}. */
  @Override
  public String name() {
    return ADDRESS;
  }

  @Override
  public String ip() {
    return ADDRESS;
  }

  @Override
  public Path dir() {
    return dir;
  }

  @Override
  public String clients() {
    return ADDRESS + "/32";
  }

  /** This machine's own port, whatever {@code standard} is. */
  @Override
  public int port(int standard) {
    return port;
  }

  @Override
  public ExecResult runAs(LabAccount account, Duration timeout, List<String> command) {
    return Commands.run(
        wrap(account, command), environment(account, Map.of()), home(account), timeout);
  }

  @Override
  public HostProcess startAs(
      LabAccount account, List<String> command, Map<String, String> env, Path logFile) {
    ProcessBuilder pb = new ProcessBuilder(wrap(account, command));
    pb.environment().clear();
    pb.environment().putAll(environment(account, env));
    pb.directory(home(account).toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.redirectErrorStream(true);
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      HostProcess process = new HostProcess(this, command, pb.start(), logFile);
      processes.add(process);
      return process;
    } catch (IOException e) {
      throw new LabException("Cannot start " + String.join(" ", command) + " on " + this, e);
    }
  }

  private synchronized Path home(LabAccount account) {
    Path home = dir.resolve(account == null ? "home" : "home-" + account.name());
    if (!Files.isDirectory(home)) {
      try {
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (account != null) {
        account.chown(home);
      }
    }
    return home;
  }

  private static List<String> wrap(LabAccount account, List<String> command) {
    List<String> c = new ArrayList<>();
    if (account != null) {
      c.addAll(
          List.of(
              Commands.tool("setpriv", "util-linux"),
              "--reuid=" + account.uid(),
              "--regid=" + account.gid(),
              "--init-groups"));
    }
    c.addAll(command);
    return c;
  }

  private Map<String, String> environment(LabAccount account, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", Commands.PATH);
    env.put("HOME", home(account).toString());
    env.put("USER", account == null ? "root" : account.name());
    env.put("LOGNAME", env.get("USER"));
    env.put("LANG", "C.UTF-8");
    env.putAll(extra);
    return env;
  }

  /** Kills what it started (and their descendants), then deletes its folder. */
  @Override
  public void close() {
    for (HostProcess p : processes) {
      try {
        p.close();
      } catch (RuntimeException e) {
        // go on with the others
      }
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary folder: the system clears it eventually
    }
  }

  @Override
  public String toString() {
    return name + " (" + ADDRESS + ":" + port + ")";
  }
}
