package io.vigil.server.testing.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One machine of a {@link Lab}: a network namespace with its own loopback, one interface {@code
 * eth0} with its own IP address on the lab's switch, its own host name (programs see it in {@code
 * hostname} and resolve every host of the lab by name through {@code /etc/hosts}), its own folder
 * {@link #dir()} and home directory {@link #home()}.
 *
 * <p>Programs run in the namespace through {@code ip netns exec}, which also gives each program a
 * private mount namespace with the lab's {@code /etc/hosts} and {@code /etc/resolv.conf} (the
 * latter names no server, so an unknown name fails at once instead of leaking to real DNS). The
 * file system is otherwise the real machine's: {@link #dir()} is where a host keeps what should be
 * its own. Processes are not isolated from each other (no PID namespace), so the test JVM can
 * signal and wait for them.
 *
 * <p>Environment: programs get a clean environment, not the test JVM's: {@code PATH}, {@code HOME}
 * (the home of the account they run as), {@code USER}, {@code LOGNAME}, {@code LANG=C.UTF-8},
 * {@code JAVA_HOME} (the test JVM's Java), then what the caller adds. Java programs take {@code
 * user.home} from the password database, not from {@code HOME}; pass {@code -Duser.home} as well
 * when that matters (as {@link LabNode} does).
 *
 * <p>Thread-safe.
 */
public final class Host implements Machine {

  /**
   * Sets the host name in a fresh UTS namespace, then execs the command: {@code $0} is the name.
   */
  private static final String SET_HOSTNAME_AND_EXEC =
      "printf %s \"$0\" > /proc/sys/kernel/hostname && exec \"$@\"";

  private final Lab lab;
  private final String name;
  private final String namespace;
  private final String ip;
  private final String switchPort;
  private final Path dir;
  private final List<HostProcess> processes = new CopyOnWriteArrayList<>();
  private volatile boolean connected = true;

  Host(Lab lab, String name, String namespace, String ip, String switchPort, Path dir) {
    this.lab = lab;
    this.name = name;
    this.namespace = namespace;
    this.ip = ip;
    this.switchPort = switchPort;
    this.dir = dir;
  }

  public Lab lab() {
    return lab;
  }

  /** The host name, as every host of the lab resolves it. */
  @Override
  public String name() {
    return name;
  }

  /** The network namespace, for {@code ip netns exec} by hand while debugging. */
  public String namespace() {
    return namespace;
  }

  /** The host's IPv4 address on the lab's subnet. */
  @Override
  public String ip() {
    return ip;
  }

  /**
   * This host's own folder ({@code <lab dir>/<name>}), world-readable so any account reaches in.
   */
  @Override
  public Path dir() {
    return dir;
  }

  /** The lab's subnet: every host of the lab. */
  @Override
  public String clients() {
    return lab.subnet().cidr();
  }

  @Override
  public int port(int standard) {
    return standard;
  }

  /** The home directory of programs that run as root here, owner-only. */
  public Path home() {
    return dir.resolve("home");
  }

  /**
   * The home directory of {@code account} on this host ({@code <dir>/home-<name>}), created owned
   * by it and owner-only on first use.
   */
  public synchronized Path home(LabAccount account) {
    Path home = dir.resolve("home-" + account.name());
    if (!Files.isDirectory(home)) {
      try {
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      account.chown(home);
    }
    return home;
  }

  /** Runs {@code command} here as root, waiting at most 30 s. */
  public ExecResult run(String... command) {
    return run(Commands.DEFAULT_TIMEOUT, Arrays.asList(command));
  }

  /**
   * Runs {@code command} here as root and waits for it.
   *
   * @throws LabException when it runs longer than {@code timeout} (it is then killed)
   */
  public ExecResult run(Duration timeout, List<String> command) {
    return Commands.run(wrap(null, command), environment(null, Map.of()), home(), timeout);
  }

  /** As {@link #run(Duration, List)}, as {@code account} (with {@code setpriv}). */
  @Override
  public ExecResult runAs(LabAccount account, Duration timeout, List<String> command) {
    return Commands.run(
        wrap(account, command), environment(account, Map.of()), home(account), timeout);
  }

  /**
   * Starts {@code command} in the background here, as root.
   *
   * @param env variables beyond the clean environment described above; they win over it
   * @param logFile where stdout and stderr are appended; its folder is created
   */
  public HostProcess start(List<String> command, Map<String, String> env, Path logFile) {
    return startAs(null, command, env, logFile);
  }

  /** As {@link #start}, as {@code account}, or as root when it is null. */
  @Override
  public HostProcess startAs(
      LabAccount account, List<String> command, Map<String, String> env, Path logFile) {
    lab.checkOpen();
    ProcessBuilder pb = new ProcessBuilder(wrap(account, command));
    pb.environment().clear();
    pb.environment().putAll(environment(account, env));
    pb.directory((account == null ? home() : home(account)).toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.redirectErrorStream(true);
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      HostProcess process = new HostProcess(this, command, pb.start(), logFile);
      processes.add(process);
      return process;
    } catch (IOException e) {
      throw new LabException("Cannot start " + String.join(" ", command) + " on " + name, e);
    }
  }

  /** The background processes started here, running or ended. */
  public List<HostProcess> processes() {
    return List.copyOf(processes);
  }

  /**
   * Pulls the host's network cable: its port on the switch goes down, so no packet reaches or
   * leaves it (connections hang rather than fail at once, as with a real cut link). Loopback keeps
   * working.
   */
  public synchronized void disconnect() {
    lab.setPort(switchPort, false);
    connected = false;
  }

  /** Plugs the cable back in: its port on the switch comes up again. */
  public synchronized void reconnect() {
    lab.setPort(switchPort, true);
    connected = true;
  }

  public boolean connected() {
    return connected;
  }

  /** Kills the processes this host started (the lab kills the rest of the namespace). */
  void killProcesses() {
    for (HostProcess p : processes) {
      try {
        p.close();
      } catch (RuntimeException e) {
        // the namespace sweep that follows kills whatever is left
      }
    }
  }

  private List<String> wrap(LabAccount account, List<String> command) {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("empty command");
    }
    List<String> c =
        new ArrayList<>(
            List.of(
                Commands.ip(),
                "netns",
                "exec",
                namespace,
                Commands.tool("unshare", "util-linux"),
                "--uts",
                "--",
                "/bin/sh",
                "-c",
                SET_HOSTNAME_AND_EXEC,
                name));
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
    env.put("HOME", (account == null ? home() : home(account)).toString());
    env.put("USER", account == null ? "root" : account.name());
    env.put("LOGNAME", env.get("USER"));
    env.put("LANG", "C.UTF-8");
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.putAll(extra);
    return env;
  }

  @Override
  public String toString() {
    return name + " (" + ip + ", namespace " + namespace + ")";
  }
}
