package io.vigil.server.cluster;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The cluster's virtual IP address on this machine, managed as Pacemaker's {@code IPaddr2} does:
 * {@link #add} puts the address on an interface ({@code ip addr add ADDR/PREFIX dev IF}; an address
 * already there counts as added), {@link #announce} tells the neighbours with gratuitous ARP
 * ({@code arping -U}, a number of times a fixed interval apart) so that their caches stop pointing
 * at the previous owner's hardware address, {@link #present} looks whether the address is still
 * there, and {@link #remove} takes it off ({@code ip addr del}; an address not there counts as
 * removed).
 *
 * <p>The commands run through {@link Commands}, with a clean environment ({@link
 * CommandEnvironment}), so that the sequencing is tested without touching a network. Linux only,
 * IPv4 only (gratuitous ARP is IPv4's).
 */
public final class VirtualIp {

  /** What the operator configured ({@code Cluster.VirtualIp}). */
  public record Config(
      String address, int prefix, String iface, int announcements, long announceIntervalMillis) {

    /** {@code ADDR/PREFIX}, as {@code ip} takes it. */
    public String cidr() {
      return address + "/" + prefix;
    }
  }

  /** What a command did: its exit code (or {@link #TIMED_OUT}) and its combined output. */
  public record Result(int exit, String output) {
    /** The exit code of a command that was still running at its time limit and was ended. */
    public static final int TIMED_OUT = -1;

    boolean ok() {
      return exit == 0;
    }
  }

  /** Runs a command (no shell) and waits at most {@code timeoutMillis} for it. */
  @FunctionalInterface
  public interface Commands {
    Result run(List<String> command, long timeoutMillis) throws IOException, InterruptedException;
  }

  /** Waits between announcements. */
  @FunctionalInterface
  public interface Pause {
    void sleep(long millis) throws InterruptedException;
  }

  /** Longest wait for {@code ip}; it answers in milliseconds. */
  static final long IP_TIMEOUT_MILLIS = 5000;

  private static final Pattern INTERFACE = Pattern.compile("[A-Za-z0-9_.:@-]{1,15}");

  private final Config config;
  private final Commands commands;
  private final Pause pause;
  private final String ip;
  private final String arping;

  /** The real thing: {@code ip} and {@code arping} from the usual places, a real pause. */
  public VirtualIp(Config config) {
    this(config, VirtualIp::runProcess, Thread::sleep, program("ip"), program("arping"));
  }

  /** With the given runner and pause and the programs' paths: for tests. */
  public VirtualIp(Config config, Commands commands, Pause pause, String ip, String arping) {
    this.config = config;
    this.commands = commands;
    this.pause = pause;
    this.ip = ip;
    this.arping = arping;
  }

  public Config config() {
    return config;
  }

  /**
   * Checks the configured values and that this machine can manage the address, as the node's
   * start-up does.
   *
   * @return null when fine, otherwise what is wrong, naming the setting
   */
  public static String problem(Config c, boolean linux, boolean ipFound, boolean arpingFound) {
    if (!linux) {
      return "Cluster.VirtualIp.Address is set, but a virtual IP address is managed on Linux only"
          + " (with ip and arping); on this platform put a load balancer in front of the nodes"
          + " instead (docs/operations.md).";
    }
    InetAddress parsed;
    try {
      if (!c.address().matches("[0-9.]+")) {
        throw new UnknownHostException(c.address());
      }
      parsed = InetAddress.getByName(c.address());
    } catch (UnknownHostException e) {
      return "Cluster.VirtualIp.Address \""
          + c.address()
          + "\" is not an IPv4 address (e.g. 192.0.2.10); only IPv4 is supported.";
    }
    if (!(parsed instanceof Inet4Address)) {
      return "Cluster.VirtualIp.Address \"" + c.address() + "\" is not an IPv4 address.";
    }
    if (c.prefix() < 1 || c.prefix() > 32) {
      return "Cluster.VirtualIp.Prefix " + c.prefix() + " is out of range: use 1-32 (default 32).";
    }
    if (c.iface() == null || !INTERFACE.matcher(c.iface()).matches()) {
      return "Cluster.VirtualIp.Interface "
          + (c.iface() == null ? "is not set" : "\"" + c.iface() + "\" is not an interface name")
          + ": name the interface that carries the address, e.g. eth0.";
    }
    if (c.announcements() < 0 || c.announcements() > 100) {
      return "Cluster.VirtualIp.Announcements "
          + c.announcements()
          + " is out of range: use 0-100 (default 5).";
    }
    if (c.announceIntervalMillis() < 10 || c.announceIntervalMillis() > 10_000) {
      return "Cluster.VirtualIp.AnnounceIntervalMillis "
          + c.announceIntervalMillis()
          + " is out of range: use 10-10000 (default 200).";
    }
    if (!ipFound) {
      return "Cluster.VirtualIp.Address is set, but the ip command (iproute2) is not installed.";
    }
    if (c.announcements() > 0 && !arpingFound) {
      return "Cluster.VirtualIp.Announcements is "
          + c.announcements()
          + ", but arping is not installed: install iputils-arping (or set Announcements to 0"
          + " if nothing on the network caches addresses).";
    }
    return null;
  }

  /** Whether {@code ip} and {@code arping} are where {@link #VirtualIp(Config)} looks. */
  public static boolean installed(String name) {
    return program(name) != null;
  }

  /**
   * Puts the address on the interface; an address already there counts as added.
   *
   * @throws IOException when {@code ip} fails, with its output
   */
  public void add() throws IOException, InterruptedException {
    Result r =
        commands.run(
            List.of(ip, "addr", "add", config.cidr(), "dev", config.iface()), IP_TIMEOUT_MILLIS);
    if (!r.ok()
        && !r.output().contains("File exists")
        && !r.output().contains("already assigned")) {
      throw failure("add", r);
    }
  }

  /**
   * Takes the address off the interface; an address that is not there counts as removed.
   *
   * @throws IOException when {@code ip} fails otherwise, with its output
   */
  public void remove() throws IOException, InterruptedException {
    Result r =
        commands.run(
            List.of(ip, "addr", "del", config.cidr(), "dev", config.iface()), IP_TIMEOUT_MILLIS);
    if (!r.ok()
        && !r.output().contains("Cannot assign requested address")
        && !r.output().contains("not found")) {
      throw failure("remove", r);
    }
  }

  /**
   * Whether the address is on the interface now.
   *
   * @throws IOException when the interface cannot be read (it does not exist, for one)
   */
  public boolean present() throws IOException, InterruptedException {
    Result r =
        commands.run(
            List.of(ip, "-o", "-4", "addr", "show", "dev", config.iface()), IP_TIMEOUT_MILLIS);
    if (!r.ok()) {
      throw failure("look for", r);
    }
    String[] words = r.output().split("\\s+");
    for (int i = 0; i + 1 < words.length; i++) {
      if (words[i].equals("inet") && words[i + 1].equals(config.cidr())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Announces the address with gratuitous ARP: {@code Announcements} times, {@code
   * AnnounceIntervalMillis} apart. {@code arping} sends its packet at once and then waits for
   * replies that unsolicited ARP never gets, so each one is ended after the interval.
   *
   * @throws IOException when {@code arping} fails (the address is not on the interface, for one)
   */
  public void announce() throws IOException, InterruptedException {
    for (int i = 0; i < config.announcements(); i++) {
      if (i > 0) {
        pause.sleep(config.announceIntervalMillis());
      }
      Result r =
          commands.run(
              List.of(arping, "-q", "-U", "-c", "1", "-I", config.iface(), config.address()),
              config.announceIntervalMillis());
      if (!r.ok() && r.exit() != Result.TIMED_OUT) {
        throw failure("announce", r);
      }
    }
  }

  private IOException failure(String what, Result r) {
    return new IOException(
        "cannot "
            + what
            + " the virtual IP address "
            + config.cidr()
            + " on "
            + config.iface()
            + (r.exit() == Result.TIMED_OUT ? " (timed out)" : " (exit code " + r.exit() + ")")
            + (r.output().isBlank() ? "" : ": " + r.output().strip()));
  }

  @Override
  public String toString() {
    return config.cidr() + " on " + config.iface();
  }

  /** The program in /usr/sbin, /sbin, /usr/bin or /bin, or null when none is there. */
  static String program(String name) {
    for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  /** Whether this is Linux, where {@code ip} and {@code arping} exist. */
  public static boolean linux() {
    return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
  }

  /**
   * Runs a command with the clean environment of generic resources, stdin from /dev/null, output
   * merged; a command still running after {@code timeoutMillis} is killed and reported as {@link
   * Result#TIMED_OUT}, and so is one whose caller is interrupted (then the interrupt is passed on).
   */
  static Result runProcess(List<String> command, long timeoutMillis)
      throws IOException, InterruptedException {
    if (command.getFirst() == null) {
      throw new IOException("the program for " + command + " is not installed");
    }
    ProcessBuilder builder =
        new ProcessBuilder(new ArrayList<>(command))
            .redirectInput(new File("/dev/null"))
            .redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    Map<String, String> clean = CommandEnvironment.of(System.getenv(), List.of());
    env.clear();
    env.putAll(clean);
    Process p = builder.start();
    try (InputStream out = p.getInputStream()) {
      if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(1, TimeUnit.SECONDS);
        return new Result(Result.TIMED_OUT, "");
      }
      byte[] bytes = out.readNBytes(4096);
      return new Result(p.exitValue(), new String(bytes, StandardCharsets.UTF_8));
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }
}
