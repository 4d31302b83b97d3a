package io.vigil.server.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * Watches the processes of a generic resource whose start command writes each daemon's pid to a
 * file in one directory (one file per node and epoch), every 20 ms, and records every moment at
 * which more than one of them was running. A process stopped by {@code SIGSTOP} (state T) or a
 * zombie does not run; every other live process does.
 */
public final class ResourceProcessSampler implements AutoCloseable {

  private final Path pidDirectory;
  private final Thread thread;
  private final List<String> overlaps = new CopyOnWriteArrayList<>();
  private volatile boolean running = true;
  private volatile int samples;

  public ResourceProcessSampler(Path pidDirectory) {
    this.pidDirectory = pidDirectory;
    this.thread = Thread.ofPlatform().name("resource-sampler").daemon().start(this::loop);
  }

  /**
   * The start command for a resource this sampler can watch: a daemon in a session of its own (so
   * it outlives the shell and is nobody's descendant) whose pid goes to {@code
   * DIR/$VIGIL_NODE-$VIGIL_EPOCH}.
   */
  public static String startCommand(Path pidDirectory) {
    return "setsid sleep 600 > /dev/null 2>&1 & echo $! > "
        + pidDirectory
        + "/$VIGIL_NODE-$VIGIL_EPOCH";
  }

  /** The matching stop command. */
  public static String stopCommand(Path pidDirectory) {
    return "kill $(cat " + pidDirectory + "/$VIGIL_NODE-$VIGIL_EPOCH) 2>/dev/null; true";
  }

  private void loop() {
    while (running) {
      List<String> now = runningNow();
      samples++;
      if (now.size() > 1) {
        overlaps.add(System.currentTimeMillis() + " " + now);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** The pid files whose process runs right now, as {@code file=pid}. */
  public List<String> runningNow() {
    List<String> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(pidDirectory)) {
      for (Path f : files.toList()) {
        String text;
        try {
          text = Files.readString(f).strip();
        } catch (IOException e) {
          continue;
        }
        if (text.isEmpty()) {
          continue;
        }
        long pid = Long.parseLong(text);
        if (runs(pid) && isTheDaemonOf(pid, f.getFileName().toString())) {
          out.add(f.getFileName() + "=" + pid);
        }
      }
    } catch (IOException e) {
      // The directory does not exist yet.
    }
    return out;
  }

  private static boolean runs(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      char state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state != 'Z' && state != 'T' && state != 'X';
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Whether {@code pid} is still the daemon its pid file {@code NODE-EPOCH} was written for, not
   * another process that got the same pid after it ended (pids wrap around, at 32768 by default):
   * the daemon is {@code sleep} with that node and epoch in its environment.
   */
  private static boolean isTheDaemonOf(long pid, String file) {
    int dash = file.lastIndexOf('-');
    if (dash < 0) {
      return false;
    }
    try {
      Path proc = Path.of("/proc", Long.toString(pid));
      String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")));
      if (!cmdline.startsWith("sleep\0")) {
        return false;
      }
      List<String> env =
          List.of(new String(Files.readAllBytes(proc.resolve("environ"))).split("\0"));
      return env.contains("VIGIL_NODE=" + file.substring(0, dash))
          && env.contains("VIGIL_EPOCH=" + file.substring(dash + 1));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Every sample at which more than one process ran. */
  public List<String> overlaps() {
    return List.copyOf(overlaps);
  }

  public int samples() {
    return samples;
  }

  /** Stops sampling and kills every process it watched. */
  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (String entry : runningNow()) {
      long pid = Long.parseLong(entry.substring(entry.indexOf('=') + 1));
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
