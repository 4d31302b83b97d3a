package io.vigil.server.cluster;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of the dead man's switch ({@link Watchdog}): starts the switch process before the
 * first generic resource starts, tells it after every renewal until when the resources may run, and
 * starts it again if it ever ends while the node runs.
 *
 * <p>The switch's deadline is the owner's own renew deadline plus a third of the margin between the
 * renew deadline and the lease; the forced kill comes a further third later, so the last third of
 * the margin remains before any other node can take the lease. With the default timing: resources
 * stop gracefully from 2.5 s after the last renewal was sent, the switch ends what is left from 3.0
 * s (politely) and 3.5 s (forcibly), and the lease cannot expire before 4.0 s.
 *
 * <p>Writing to the switch never blocks the caller: the latest deadline waits in a slot that a
 * writer thread sends, so a switch that does not read (stopped, swapped out) cannot stall the
 * failover controller.
 */
public final class DeadMansSwitch implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DeadMansSwitch.class);
  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private final String instance;
  private final String node;
  private final long slackNanos;
  private final long graceMillis;
  private final String[] database;
  private final VirtualIp.Config virtualIp;
  private final Object lock = new Object();
  private Process process;
  private OutputStream input;
  private Thread writer;
  private long pendingEpoch = -1;
  private long pendingUntil;
  private boolean pending;
  private boolean closed;

  /**
   * @param instance this node process's instance id (every generic resource command carries it)
   * @param databaseUrl the node's JDBC URL when it is on PostgreSQL (the switch holds a session
   *     tagged with the instance id), null otherwise
   */
  public DeadMansSwitch(
      String instance,
      String node,
      ClusterTiming timing,
      String databaseUrl,
      String user,
      String password) {
    this(instance, node, timing, databaseUrl, user, password, null);
  }

  /**
   * A switch that also removes the cluster's virtual IP address from this machine when the owner's
   * deadline passes without a renewal, and when the node's process exits after it owned the role.
   *
   * @param virtualIp the virtual IP address, or null for none
   */
  public DeadMansSwitch(
      String instance,
      String node,
      ClusterTiming timing,
      String databaseUrl,
      String user,
      String password,
      VirtualIp.Config virtualIp) {
    this.virtualIp = virtualIp;
    this.instance = instance;
    this.node = node;
    long margin = timing.leaseDuration().minus(timing.renewDeadline()).toNanos();
    this.slackNanos = margin / 3;
    this.graceMillis = TimeUnit.NANOSECONDS.toMillis(margin / 3);
    this.database =
        databaseUrl == null
            ? null
            : new String[] {
              databaseUrl, user == null ? "" : user, password == null ? "" : password
            };
  }

  /** The instance id that marks the processes this switch ends. */
  public String instance() {
    return instance;
  }

  /**
   * Starts the switch process unless it runs, and returns once it has been told the clock.
   *
   * @throws IOException when it cannot be started; generic resources must not start then
   */
  void ensureRunning() throws IOException {
    synchronized (lock) {
      if (closed) {
        throw new IOException("the node is stopping");
      }
      if (process != null && process.isAlive()) {
        return;
      }
      spawn();
    }
  }

  /**
   * The owner renewed: what runs under {@code epoch} may run until {@code ownerUntil} (the owner's
   * renew deadline, monotonic clock) plus the switch's slack. Only the latest call is sent.
   */
  void arm(long epoch, long ownerUntil) {
    synchronized (lock) {
      if (epoch == pendingEpoch && ownerUntil + slackNanos == pendingUntil) {
        return;
      }
      pendingEpoch = epoch;
      pendingUntil = ownerUntil + slackNanos;
      pending = true;
      lock.notifyAll();
    }
  }

  private void spawn() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(SETSID)) {
      // A session of its own: a signal to the node's process group does not stop the switch.
      command.add(SETSID.toString());
    }
    command.addAll(
        List.of(
            java,
            "-Xmx16m",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-cp",
            System.getProperty("java.class.path"),
            Watchdog.class.getName(),
            instance,
            node,
            Long.toString(graceMillis)));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    // The switch itself must not look like a resource's process.
    builder.environment().keySet().removeIf(k -> k.startsWith("VIGIL_"));
    Process p = builder.start();
    OutputStream out = p.getOutputStream();
    StringBuilder hello = new StringBuilder("clock ").append(System.nanoTime()).append('\n');
    if (database != null) {
      Base64.Encoder b64 = Base64.getEncoder();
      hello.append("db");
      for (String v : database) {
        hello.append(' ').append(b64.encodeToString(v.getBytes(StandardCharsets.UTF_8)));
      }
      hello.append('\n');
    }
    if (virtualIp != null) {
      // Before any arm: the switch knows the address before the node can add it.
      hello
          .append("vip ")
          .append(virtualIp.iface())
          .append(' ')
          .append(virtualIp.address())
          .append(' ')
          .append(virtualIp.prefix())
          .append('\n');
    }
    if (pendingEpoch >= 0) {
      hello.append("arm ").append(pendingEpoch).append(' ').append(pendingUntil).append('\n');
    }
    out.write(hello.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
    process = p;
    input = out;
    log.info("Cluster: dead man's switch of {} started as pid {}", node, p.pid());
    if (writer == null) {
      writer = Thread.ofPlatform().name("vigil-switch-writer").daemon().start(this::write);
    }
  }

  private void write() {
    while (true) {
      long epoch;
      long until;
      OutputStream out;
      synchronized (lock) {
        while (!pending && !closed) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (closed) {
          return;
        }
        pending = false;
        epoch = pendingEpoch;
        until = pendingUntil;
        out = input;
      }
      try {
        out.write(("arm " + epoch + " " + until + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (IOException e) {
        synchronized (lock) {
          if (closed) {
            return;
          }
          log.error(
              "Cluster: the dead man's switch of {} ended unexpectedly; starting it again", node);
          try {
            spawn();
          } catch (IOException again) {
            log.error("Cluster: cannot start the dead man's switch again: {}", again.getMessage());
          }
        }
      }
    }
  }

  /**
   * Ends the switch: it ends whatever generic resources left running (nothing, after a clean stop)
   * and exits. Waits up to five seconds.
   */
  @Override
  public void close() {
    Process p;
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
      p = process;
      if (input != null) {
        try {
          input.close();
        } catch (IOException e) {
          // Already gone.
        }
      }
    }
    if (p != null) {
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          log.warn("Cluster: the dead man's switch did not exit within 5 s; killing it");
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The switch's process id, or -1 when it does not run; for tests. */
  long pid() {
    synchronized (lock) {
      return process != null && process.isAlive() ? process.pid() : -1;
    }
  }

  /** The time the switch's polite kill waits before the forced one. */
  Duration grace() {
    return Duration.ofMillis(graceMillis);
  }
}
