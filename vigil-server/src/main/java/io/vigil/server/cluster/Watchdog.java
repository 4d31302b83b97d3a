package io.vigil.server.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Base64;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The dead man's switch: a small process of its own, started by a node that runs generic resources
 * ({@link DeadMansSwitch}), that ends what those resources started when the node stops renewing its
 * lease, before the lease can expire, also when only the node's JVM is paused (by the garbage
 * collector, a debugger or {@code SIGSTOP}) and the daemons its commands launched keep running.
 *
 * <p>It reads lines from its standard input, which the node holds:
 *
 * <ul>
 *   <li>{@code clock NANOS}: the node's monotonic clock when it wrote the line;
 *   <li>{@code db URL USER PASSWORD} (each Base64): on PostgreSQL, hold one idle session tagged
 *       with the node's instance id, so that no standby concludes from {@code pg_stat_activity}
 *       that the node's process is gone before this switch has ended what it started;
 *   <li>{@code vip INTERFACE ADDRESS PREFIX}: the cluster's virtual IP address, which the node adds
 *       while it owns the role;
 *   <li>{@code arm EPOCH NANOS}: what runs under {@code EPOCH} may run until {@code NANOS} on the
 *       node's clock.
 * </ul>
 *
 * <p>When a deadline passes, every process marked with the node's instance id and an epoch up to
 * the armed one is ended (see {@link ResourceProcesses}): a polite kill, then a forced one after
 * the grace period; and the virtual IP address, if any, is removed from this machine first. When
 * standard input ends (the node exited, however it exited), the address is removed (if the node
 * ever owned the role while this switch ran), everything marked with the instance id is ended at
 * once, and the switch exits; on PostgreSQL only then does it close its session, so no standby
 * takes the role over while the address may still be here.
 *
 * <p>Arguments: {@code INSTANCE_ID NODE_NAME GRACE_MILLIS}.
 */
public final class Watchdog {

  private static final long TICK_MILLIS = 10;

  /**
   * Both processes read the same system-wide monotonic clock on Linux, Windows and macOS; a
   * measured difference below this is the time the line took, not a different clock.
   */
  private static final long SAME_CLOCK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String instance;
  private final String node;
  private final long graceMillis;
  private final SwitchDeadline deadline = new SwitchDeadline();
  private long offset;
  private volatile String[] database;
  private volatile VirtualIp virtualIp;
  private volatile boolean inputEnded;

  private Watchdog(String instance, String node, long graceMillis) {
    this.instance = instance;
    this.node = node;
    this.graceMillis = graceMillis;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Watchdog INSTANCE_ID NODE_NAME GRACE_MILLIS");
      System.exit(2);
    }
    new Watchdog(args[0], args[1], Long.parseLong(args[2])).run();
    System.exit(0);
  }

  private void run() throws InterruptedException {
    Thread reader = Thread.ofPlatform().name("switch-input").daemon().start(this::read);
    Thread session = Thread.ofPlatform().name("switch-session").daemon().start(this::holdSession);
    while (!inputEnded) {
      long epoch;
      long wait;
      synchronized (deadline) {
        long now = System.nanoTime();
        epoch = deadline.due(now);
        wait = Math.min(TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS), deadline.remaining(now));
      }
      if (epoch != SwitchDeadline.NONE) {
        dropVirtualIp("the node's lease deadline for epoch " + epoch + " passed without a renewal");
        sweep(epoch, "the node's lease deadline for epoch " + epoch + " passed without a renewal");
      } else {
        // Wakes at the deadline itself, and often enough to notice new input and its end.
        TimeUnit.NANOSECONDS.sleep(Math.max(wait, 1));
      }
    }
    boolean owned;
    synchronized (deadline) {
      owned = deadline.everArmed();
    }
    if (owned) {
      dropVirtualIp("the node process exited");
    }
    sweep(Long.MAX_VALUE, "the node process exited");
    session.interrupt();
    session.join(2000);
    reader.interrupt();
  }

  private void sweep(long maxEpoch, String why) {
    long t0 = System.nanoTime();
    ResourceProcesses.Ended ended = ResourceProcesses.end(instance, null, maxEpoch, graceMillis);
    if (ended.found() == 0) {
      return;
    }
    say(
        why
            + ": ended "
            + (ended.found() - ended.left().size())
            + " process(es) of generic resources of "
            + node
            + " in "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
            + " ms"
            + (ended.left().isEmpty()
                ? ""
                : "; still running: " + ended.left().stream().map(ProcessHandle::pid).toList()));
  }

  private void dropVirtualIp(String why) {
    VirtualIp vip = virtualIp;
    if (vip == null) {
      return;
    }
    try {
      vip.remove();
      say(why + ": removed the virtual IP address " + vip);
    } catch (java.io.IOException e) {
      say(why + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void read() {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.split(" ");
        try {
          switch (words[0]) {
            case "clock" -> {
              long measured = System.nanoTime() - Long.parseLong(words[1]);
              offset = Math.abs(measured) < SAME_CLOCK_NANOS ? 0 : measured;
            }
            case "vip" ->
                virtualIp =
                    new VirtualIp(
                        new VirtualIp.Config(
                            words[2], Integer.parseInt(words[3]), words[1], 0, 1000));
            case "db" ->
                database = new String[] {decode(words[1]), decode(words[2]), decode(words[3])};
            case "arm" -> {
              long epoch = Long.parseLong(words[1]);
              long until = Long.parseLong(words[2]) + offset;
              synchronized (deadline) {
                deadline.arm(epoch, until);
              }
            }
            default -> say("ignoring unknown instruction " + words[0]);
          }
        } catch (RuntimeException e) {
          say("ignoring a malformed instruction");
        }
      }
    } catch (IOException e) {
      // The node's end of the pipe is gone: the same as its end.
    } finally {
      inputEnded = true;
    }
  }

  private static String decode(String b64) {
    return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
  }

  /**
   * Keeps one idle, tagged session open on PostgreSQL while the switch runs; retries each second.
   */
  private void holdSession() {
    Connection c = null;
    try {
      while (!Thread.currentThread().isInterrupted()) {
        String[] db = database;
        if (db != null && (c == null || !c.isValid(2))) {
          close(c);
          c = connect(db);
        }
        Thread.sleep(1000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException e) {
      say("cannot check its database session: " + e.getMessage());
    } finally {
      close(c);
    }
  }

  private Connection connect(String[] db) {
    Properties p = new Properties();
    if (!db[1].isEmpty()) {
      p.setProperty("user", db[1]);
    }
    if (!db[2].isEmpty()) {
      p.setProperty("password", db[2]);
    }
    p.setProperty("ApplicationName", Clusters.applicationName(instance, "switch", node));
    p.setProperty("connectTimeout", "2");
    p.setProperty("socketTimeout", "5");
    p.setProperty("tcpKeepAlive", "true");
    try {
      return DriverManager.getConnection(db[0], p);
    } catch (SQLException e) {
      return null;
    }
  }

  private static void close(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        // Closing a broken session: nothing to do.
      }
    }
  }

  private static void say(String message) {
    System.err.println("vigil dead man's switch: " + message);
  }
}
