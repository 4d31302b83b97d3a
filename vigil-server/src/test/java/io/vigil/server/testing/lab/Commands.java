package io.vigil.server.testing.lab;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs commands with a bounded wait and captured output; finds the lab's tools. */
final class Commands {

  /** The wait of a command that names none. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** PATH inside a lab's machines, and where tools are looked for besides the JVM's PATH. */
  static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private static final Map<String, String> TOOLS = new ConcurrentHashMap<>();

  private Commands() {}

  /**
   * The absolute path of a program found on the JVM's PATH or {@link #PATH}, or null when it is not
   * installed. Maven often runs with a PATH without the sbin folders where {@code ip} lives.
   */
  static String find(String program) {
    String found =
        TOOLS.computeIfAbsent(
            program,
            p -> {
              String path = System.getenv().getOrDefault("PATH", "") + ":" + PATH;
              for (String dir : path.split(":")) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, p))) {
                  return Path.of(dir, p).toString();
                }
              }
              return "";
            });
    return found.isEmpty() ? null : found;
  }

  /** As {@link #find}, but a missing program is an error that says which package to install. */
  static String tool(String program, String debianPackage) {
    String path = find(program);
    if (path == null) {
      throw new LabException(
          program + " is not installed; install it with: apt-get install -y " + debianPackage);
    }
    return path;
  }

  /** {@code ip}, from iproute2. */
  static String ip() {
    return tool("ip", "iproute2");
  }

  /** Runs a command in the root namespace with the JVM's environment, and requires success. */
  static ExecResult check(String... command) {
    return run(List.of(command), null, null, DEFAULT_TIMEOUT).orThrow();
  }

  /** Runs a command in the root namespace with the JVM's environment. */
  static ExecResult run(String... command) {
    return run(List.of(command), null, null, DEFAULT_TIMEOUT);
  }

  /**
   * Runs a command, waits for it at most {@code timeout} and returns how it ended. Standard input
   * is empty, so a command that reads it sees end of file instead of waiting for ever.
   *
   * @param env the whole environment of the command, or null for the JVM's
   * @param dir the working directory, or null for the JVM's
   * @throws LabException when the command cannot be started, or runs longer than {@code timeout}
   *     (it and its children are then killed, and the message holds what it wrote so far)
   */
  static ExecResult run(List<String> command, Map<String, String> env, Path dir, Duration timeout) {
    ProcessBuilder pb = new ProcessBuilder(command);
    if (env != null) {
      pb.environment().clear();
      pb.environment().putAll(env);
    }
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new LabException("Cannot start " + String.join(" ", command) + ": " + e, e);
    }
    CompletableFuture<String> out = readAll(process.getInputStream());
    CompletableFuture<String> err = readAll(process.getErrorStream());
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        killTree(process.toHandle());
        process.waitFor(5, TimeUnit.SECONDS);
        throw new LabException(
            String.join(" ", command)
                + " did not finish within "
                + timeout
                + " and was killed\nstdout: "
                + out.getNow("")
                + "\nstderr: "
                + err.getNow(""));
      }
      return new ExecResult(command, process.exitValue(), drain(out), drain(err));
    } catch (InterruptedException e) {
      killTree(process.toHandle());
      Thread.currentThread().interrupt();
      throw new LabException("Interrupted while running " + String.join(" ", command), e);
    }
  }

  /** SIGKILL to a process and every descendant it has now. */
  static void killTree(ProcessHandle process) {
    List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
    all.addFirst(process);
    all.forEach(ProcessHandle::destroyForcibly);
  }

  private static CompletableFuture<String> readAll(InputStream in) {
    CompletableFuture<String> result = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (in) {
                result.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                result.completeExceptionally(new UncheckedIOException(e));
              }
            });
    return result;
  }

  /**
   * The output of an ended command. A child it left in the background can hold the pipe open, so
   * the wait is bounded.
   */
  private static String drain(CompletableFuture<String> output) throws InterruptedException {
    try {
      return output.get(5, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return "";
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LabException("Interrupted", e);
    }
  }
}
