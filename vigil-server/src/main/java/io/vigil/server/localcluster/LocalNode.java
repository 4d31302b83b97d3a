package io.vigil.server.localcluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One Vigil node process on this machine's loopback interface: a command (usually {@code bin/vigil
 * node}) with a complete environment, a name, a port on {@value #HOST} and a log file that every
 * start appends to. The same node can be started again after it exited, at the same address.
 *
 * <p>The edge where a local cluster touches processes and HTTP: {@link #start}, {@link #signal},
 * {@link #stop}, {@link #status} and the waits. Thread-safe; the process of the latest start is the
 * one every method acts on.
 */
public final class LocalNode {

  /** Every local node listens here only. */
  public static final String HOST = "127.0.0.1";

  /** The start of the line written to the log before each start. */
  public static final String START_MARKER = "--- starting ";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

  private static final Duration POLL = Duration.ofMillis(50);

  /**
   * What to run.
   *
   * @param name the node's name, for messages and the log marker
   * @param port its HTTP port on {@value #HOST}
   * @param log the file that standard output and standard error are appended to
   * @param command the program and its arguments
   * @param env the process's whole environment (nothing is inherited)
   */
  public record Spec(
      String name, int port, Path log, List<String> command, Map<String, String> env) {
    public Spec {
      command = List.copyOf(command);
      env = Map.copyOf(env);
    }

    public String url() {
      return "http://" + HOST + ":" + port;
    }

    /** The same node run by another command, e.g. one that runs it as another account. */
    public Spec withCommand(List<String> newCommand) {
      return new Spec(name, port, log, newCommand, env);
    }

    /** The same node with another environment. */
    public Spec withEnv(Map<String, String> newEnv) {
      return new Spec(name, port, log, command, newEnv);
    }
  }

  /** The signals a local node is sent. STOP and CONT exist on Unix systems only. */
  public enum Signal {
    TERM,
    KILL,
    STOP,
    CONT
  }

  /**
   * A node that exited, or did not answer, before a wait for one of its health endpoints ended. The
   * message names the node and ends with the last lines of its log since its latest start.
   */
  public static final class NotReadyException extends IllegalStateException {
    private final transient LocalNode node;
    private final String path;
    private final Integer exitCode;

    NotReadyException(LocalNode node, String path, Integer exitCode, String message) {
      super(message);
      this.node = node;
      this.path = path;
      this.exitCode = exitCode;
    }

    public LocalNode node() {
      return node;
    }

    /** The endpoint waited for, e.g. {@code /health/ready}. */
    public String path() {
      return path;
    }

    /** The exit code when the node exited; empty when it ran on without answering in time. */
    public OptionalInt exitCode() {
      return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }
  }

  private final Spec spec;
  private volatile Process process;

  public LocalNode(Spec spec) {
    this.spec = spec;
  }

  public Spec spec() {
    return spec;
  }

  public String name() {
    return spec.name();
  }

  public int port() {
    return spec.port();
  }

  public String url() {
    return spec.url();
  }

  public Path log() {
    return spec.log();
  }

  /**
   * Starts the process: appends a line {@value #START_MARKER}{@code <name> at <time>} to the log,
   * then the process's output. Standard input is empty.
   *
   * @throws IllegalStateException when the process of an earlier start still runs
   * @throws UncheckedIOException when the log cannot be written or the command cannot be run
   */
  public synchronized LocalNode start() {
    if (isAlive()) {
      throw new IllegalStateException(name() + " is running already (PID " + pid() + ")");
    }
    try {
      Path parent = spec.log().toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      // The log is appended to across starts; the marker lets a failure show this start's lines.
      Files.writeString(
          spec.log(),
          START_MARKER + name() + " at " + Instant.now() + "\n",
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(spec.command());
      pb.environment().clear();
      pb.environment().putAll(spec.env());
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(spec.log().toFile()));
      pb.redirectInput(ProcessBuilder.Redirect.from(new File(isWindows() ? "NUL" : "/dev/null")));
      process = pb.start();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True once {@link #start} has started a process (which may have exited since). */
  public boolean hasStarted() {
    return process != null;
  }

  /** The process of the latest start; null before the first. */
  Process process() {
    return process;
  }

  /**
   * The process id of the latest start.
   *
   * @throws IllegalStateException before the first start
   */
  public long pid() {
    return started().pid();
  }

  public boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** The exit code of the latest start; empty while it runs or before the first start. */
  public OptionalInt exitCode() {
    Process p = process;
    return p == null || p.isAlive() ? OptionalInt.empty() : OptionalInt.of(p.exitValue());
  }

  /**
   * Sends a signal to the process of the latest start (nothing when it has exited). TERM and KILL
   * also reach the launcher's children on Windows, where {@code vigil.cmd} runs java as a child.
   *
   * @throws UnsupportedOperationException for STOP and CONT on Windows
   */
  public void signal(Signal signal) {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    switch (signal) {
      case TERM -> {
        if (isWindows()) {
          p.descendants().forEach(ProcessHandle::destroy);
        }
        p.destroy();
      }
      case KILL -> {
        if (isWindows()) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
        }
        p.destroyForcibly();
      }
      case STOP, CONT -> {
        if (isWindows()) {
          throw new UnsupportedOperationException("SIG" + signal + " does not exist on Windows");
        }
        kill(signal, p.pid());
      }
    }
  }

  /** Waits up to {@code timeout} for the process of the latest start to exit; true when it has. */
  public boolean awaitExit(Duration timeout) {
    Process p = process;
    if (p == null) {
      return true;
    }
    try {
      return p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !p.isAlive();
    }
  }

  /**
   * A graceful stop: SIGCONT (a stopped process could not handle what follows), SIGTERM, and
   * SIGKILL when the process still runs after {@code grace}.
   *
   * @return the exit code, or -1 when the node was never started
   */
  public int stop(Duration grace) {
    terminate();
    if (!awaitExit(grace)) {
      return kill();
    }
    return exitCode().orElse(-1);
  }

  /** SIGCONT (on Unix) and SIGTERM, without waiting: the first half of {@link #stop}. */
  public void terminate() {
    if (!isWindows()) {
      signal(Signal.CONT);
    }
    signal(Signal.TERM);
  }

  /**
   * SIGKILL, as in a crash, and waits until the process has gone.
   *
   * @return the exit code, or -1 when the node was never started
   */
  public int kill() {
    Process p = process;
    if (p == null) {
      return -1;
    }
    signal(Signal.KILL);
    try {
      return p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /**
   * The HTTP status of a GET of {@code path} on this node, without following redirects.
   *
   * @return the status, or -1 when the node does not answer within {@code timeout}
   */
  public CompletableFuture<Integer> statusAsync(String path, Duration timeout) {
    return HTTP.sendAsync(
            HttpRequest.newBuilder(URI.create(url() + path)).timeout(timeout).build(),
            HttpResponse.BodyHandlers.discarding())
        .thenApply(HttpResponse::statusCode)
        .exceptionally(e -> -1);
  }

  /** As {@link #statusAsync} with a timeout of 2 s, waiting for the answer. */
  public int status(String path) {
    try {
      return statusAsync(path, Duration.ofSeconds(2)).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    } catch (java.util.concurrent.ExecutionException e) {
      return -1;
    }
  }

  /**
   * Waits until {@code /health/ready} answers 200: the node serves, as the active node or a
   * standby.
   *
   * @throws NotReadyException when the process exits or {@code timeout} passes first
   */
  public LocalNode awaitReady(Duration timeout) {
    return await("/health/ready", timeout);
  }

  /**
   * Waits until {@code /health/live} answers 200: the node is up, ready or not (a node that cannot
   * take the role stays up without becoming ready).
   *
   * @throws NotReadyException when the process exits or {@code timeout} passes first
   */
  public LocalNode awaitLive(Duration timeout) {
    return await("/health/live", timeout);
  }

  private LocalNode await(String path, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!answers(path)) {
      if (System.nanoTime() > deadline) {
        throw notAnswering(path, timeout);
      }
      pause();
    }
    return this;
  }

  /**
   * One poll of a wait: true when {@code path} answers 200.
   *
   * @throws NotReadyException when the process has exited
   */
  boolean answers(String path) {
    Process p = started();
    if (!p.isAlive()) {
      throw new NotReadyException(
          this,
          path,
          p.exitValue(),
          name()
              + " exited with code "
              + p.exitValue()
              + " before it answered "
              + path
              + "; its log "
              + log()
              + " since it started:\n"
              + logTail(200));
    }
    return status(path) == 200;
  }

  NotReadyException notAnswering(String path, Duration timeout) {
    return new NotReadyException(
        this,
        path,
        null,
        name()
            + " did not answer "
            + path
            + " at "
            + url()
            + " within "
            + timeout
            + "; its log "
            + log()
            + " since it started:\n"
            + logTail(200));
  }

  /** The whole log, every start; empty when there is none yet. */
  public String logText() {
    try {
      return Files.exists(log()) ? Files.readString(log(), StandardCharsets.UTF_8) : "";
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + log() + ": " + e.getMessage() + ")";
    }
  }

  /** At most the last {@code lines} lines of the log that the latest start wrote. */
  public String logTail(int lines) {
    return tail(logText(), lines);
  }

  /** The last {@code lines} lines of {@code log} after its last {@link #START_MARKER} line. */
  static String tail(String log, int lines) {
    List<String> all = log.lines().toList();
    int from = 0;
    for (int i = all.size() - 1; i >= 0; i--) {
      if (all.get(i).startsWith(START_MARKER)) {
        from = i + 1;
        break;
      }
    }
    from = Math.max(from, all.size() - lines);
    return String.join("\n", all.subList(from, all.size()));
  }

  /** A TCP port on {@value #HOST} that nothing listens on right now. */
  @SuppressWarnings("AddressSelection") // HOST is an address literal: no name is looked up
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean isWindows() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
  }

  /** Waits one poll interval; an interrupt ends the wait as a cancellation. */
  static void pause() {
    try {
      Thread.sleep(POLL);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.util.concurrent.CancellationException("interrupted while waiting");
    }
  }

  private Process started() {
    Process p = process;
    if (p == null) {
      throw new IllegalStateException(name() + " has not been started");
    }
    return p;
  }

  private static void kill(Signal signal, long pid) {
    try {
      new ProcessBuilder("kill", "-" + signal.name(), Long.toString(pid))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start()
          .waitFor();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
