package io.vigil.server.testing.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * A program running in the background on a {@link Machine}, started by {@link Host#start} or {@link
 * Machine#startAs}. Its process id is the program's own: {@code ip netns exec}, {@code unshare},
 * the host-name step and {@code setpriv} each exec the next, none forks and waits, so a signal to
 * {@link #pid()} reaches the program itself. Output (stdout and stderr) is appended to {@link
 * #logFile()}.
 *
 * <p>A program that forks children (a PostgreSQL server) or daemonizes leaves processes that {@link
 * #kill9()} may not see; {@link Lab#close()} kills every process of the host's namespace anyway, so
 * nothing outlives the lab.
 */
public final class HostProcess implements AutoCloseable {

  private final Machine machine;
  private final List<String> command;
  private final Process process;
  private final Path logFile;

  HostProcess(Machine machine, List<String> command, Process process, Path logFile) {
    this.machine = machine;
    this.command = List.copyOf(command);
    this.process = process;
    this.logFile = logFile;
  }

  /** Where it runs. */
  public Machine machine() {
    return machine;
  }

  /** The command as the caller gave it (without the namespace and account wrapping). */
  public List<String> command() {
    return command;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The exit code once the process has ended, else empty. */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  public Path logFile() {
    return logFile;
  }

  /** What the process has written so far. */
  public String logText() {
    try {
      return Files.exists(logFile) ? Files.readString(logFile) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /**
   * SIGKILL to the process and its descendants, as in a crash or a power cut of the machine, and
   * waits until it is gone.
   */
  public void kill9() {
    Commands.killTree(process.toHandle());
    awaitExit(Duration.ofSeconds(10));
  }

  /**
   * SIGTERM, a graceful stop; waits up to {@code timeout}, then kills it.
   *
   * @return the exit code
   */
  public int stop(Duration timeout) {
    return stop("TERM", timeout);
  }

  /**
   * Sends {@code signal} (e.g. {@code INT} for a PostgreSQL fast shutdown), waits up to {@code
   * timeout} for the exit, then kills the process.
   *
   * @return the exit code
   */
  public int stop(String signal, Duration timeout) {
    if (process.isAlive()) {
      signal(signal);
      if (!awaitExit(timeout)) {
        kill9();
      }
    }
    return process.exitValue();
  }

  /** Sends a signal by name ({@code TERM}, {@code KILL}, {@code STOP}, {@code CONT}, …). */
  public void signal(String name) {
    if (process.isAlive()) {
      Commands.check("kill", "-" + name, Long.toString(process.pid()));
    }
  }

  /** Waits up to {@code timeout} for the process to end; true when it has. */
  public boolean awaitExit(Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LabException("Interrupted while waiting for " + String.join(" ", command), e);
    }
  }

  /** Kills the process when it still runs. */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill9();
    }
  }

  @Override
  public String toString() {
    return machine.name() + ": " + String.join(" ", command) + " (pid " + pid() + ")";
  }
}
