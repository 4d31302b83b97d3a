package io.vigil.server.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Finds and ends the processes that generic resources of one node process started, wherever they
 * went: every command runs with {@code VIGIL_INSTANCE} (the node process's instance id), {@code
 * VIGIL_RESOURCE} and {@code VIGIL_EPOCH} in its environment, every process it starts inherits
 * them, and on Linux {@code /proc/<pid>/environ} shows them for every process of the same user,
 * also for a daemon that detached itself (double fork, {@code setsid}) and is no longer anybody's
 * descendant. The descendants of every marked process count too, so a child that was started with a
 * cleaned environment is found through its parent.
 *
 * <p>What cannot be found: a process that detached itself <em>and</em> overwrote the memory that
 * holds its initial environment (programs that rewrite their process title that way, PostgreSQL's
 * postmaster for one), a process started through a service manager ({@code systemctl start}), and a
 * process running as another user. For those the resource's stop command is the only way; see
 * docs/cluster.md. Without {@code /proc} (Windows, macOS) nothing is found.
 *
 * <p>Used by the node to escalate a stop that failed and by the {@link Watchdog} to end what a node
 * that stopped renewing had started.
 */
final class ResourceProcesses {

  static final String INSTANCE = "VIGIL_INSTANCE";
  static final String RESOURCE = "VIGIL_RESOURCE";
  static final String EPOCH = "VIGIL_EPOCH";

  private static final Path PROC = Path.of("/proc");
  private static final long POLL_MILLIS = 20;

  private ResourceProcesses() {}

  /** Whether processes can be found on this platform. */
  static boolean supported() {
    return Files.isReadable(PROC.resolve("self").resolve("environ"));
  }

  /** A process marked as started by a generic resource. */
  record Marked(ProcessHandle handle, String resource, long epoch) {}

  /**
   * The running processes whose environment says they were started by generic resources of node
   * process {@code instance}, with {@code resource} (any when null) under an epoch of at most
   * {@code maxEpoch}, plus all their descendants. This process itself is never in it.
   */
  static List<ProcessHandle> find(String instance, String resource, long maxEpoch) {
    Map<Long, ProcessHandle> found = new LinkedHashMap<>();
    for (Marked m : marked(instance)) {
      if ((resource == null || resource.equals(m.resource())) && m.epoch() <= maxEpoch) {
        found.putIfAbsent(m.handle().pid(), m.handle());
        m.handle().descendants().forEach(d -> found.putIfAbsent(d.pid(), d));
      }
    }
    found.remove(ProcessHandle.current().pid());
    List<ProcessHandle> list = new ArrayList<>();
    for (ProcessHandle h : found.values()) {
      if (!ended(h)) {
        list.add(h);
      }
    }
    return list;
  }

  /** Every live process that carries {@code VIGIL_INSTANCE=instance}. */
  static List<Marked> marked(String instance) {
    List<Marked> out = new ArrayList<>();
    if (!supported()) {
      return out;
    }
    byte[] wanted = (INSTANCE + "=" + instance).getBytes(StandardCharsets.UTF_8);
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
      for (Path dir : dirs) {
        long pid;
        try {
          pid = Long.parseLong(dir.getFileName().toString());
        } catch (NumberFormatException e) {
          continue;
        }
        byte[] environ;
        try {
          environ = Files.readAllBytes(dir.resolve("environ"));
        } catch (IOException | SecurityException e) {
          continue; // gone meanwhile, or another user's
        }
        if (!contains(environ, wanted)) {
          continue;
        }
        Map<String, String> vars = variables(environ);
        if (!instance.equals(vars.get(INSTANCE))) {
          continue;
        }
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty()) {
          continue;
        }
        long epoch;
        try {
          epoch = Long.parseLong(vars.getOrDefault(EPOCH, "0"));
        } catch (NumberFormatException e) {
          epoch = 0;
        }
        out.add(new Marked(handle.get(), vars.get(RESOURCE), epoch));
      }
    } catch (IOException e) {
      // /proc unreadable right now: nothing found this round.
    }
    return out;
  }

  /** What {@link #end} did: how many processes it found at first, and which still run. */
  record Ended(int found, List<ProcessHandle> left) {}

  /**
   * Ends the processes {@link #find} returns: a polite kill, up to {@code graceMillis} for them to
   * go, a forced kill of what is left and of anything found meanwhile, up to a second more, and as
   * many rounds as needed for processes that keep starting others, at most three.
   */
  static Ended end(String instance, String resource, long maxEpoch, long graceMillis) {
    // Ending what may still run matters more than an interrupt, which is kept for the caller.
    AtomicBoolean interrupted = new AtomicBoolean(Thread.interrupted());
    try {
      List<ProcessHandle> left = find(instance, resource, maxEpoch);
      int found = left.size();
      for (int round = 0; round < 3 && !left.isEmpty(); round++) {
        left.forEach(ProcessHandle::destroy);
        awaitEnd(left, graceMillis, interrupted);
        List<ProcessHandle> survivors = find(instance, resource, maxEpoch);
        survivors.forEach(ProcessHandle::destroyForcibly);
        awaitEnd(survivors, 1000, interrupted);
        left = find(instance, resource, maxEpoch);
      }
      return new Ended(found, left);
    } finally {
      if (interrupted.get()) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Waits until every process has ended, at most {@code millis}. Keeps waiting when interrupted
   * (what is being ended must be gone before the caller continues) and records the interrupt
   * instead.
   *
   * @return whether all ended
   */
  static boolean awaitEnd(List<ProcessHandle> handles, long millis, AtomicBoolean interrupted) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (true) {
      if (handles.stream().allMatch(ResourceProcesses::ended)) {
        return true;
      }
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        interrupted.set(true);
      }
    }
  }

  /**
   * Whether a process has stopped running. A killed process whose parent already exited is a zombie
   * until init reaps it, which some init processes (in containers, micro-VMs) do only every second
   * or so; it runs no more code and holds nothing but its pid, so it counts as ended. {@link
   * ProcessHandle#isAlive()} alone cannot tell, so on Linux the state is read from {@code /proc}.
   */
  static boolean ended(ProcessHandle handle) {
    if (!handle.isAlive()) {
      return true;
    }
    Path stat = Path.of("/proc", Long.toString(handle.pid()), "stat");
    try {
      String line = Files.readString(stat);
      // Format: "pid (command) state ...": the command may contain spaces and parentheses.
      int close = line.lastIndexOf(')');
      return close > 0 && close + 2 < line.length() && line.charAt(close + 2) == 'Z';
    } catch (IOException | UncheckedIOException e) {
      // No /proc (macOS) or the process is gone right now: trust isAlive on the next poll.
      return !handle.isAlive();
    }
  }

  private static Map<String, String> variables(byte[] environ) {
    Map<String, String> vars = new LinkedHashMap<>();
    int start = 0;
    for (int i = 0; i <= environ.length; i++) {
      if (i == environ.length || environ[i] == 0) {
        if (i > start) {
          String entry = new String(environ, start, i - start, StandardCharsets.UTF_8);
          int eq = entry.indexOf('=');
          if (eq > 0 && entry.startsWith("VIGIL_")) {
            vars.putIfAbsent(entry.substring(0, eq), entry.substring(eq + 1));
          }
        }
        start = i + 1;
      }
    }
    return vars;
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
