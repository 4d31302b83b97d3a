package io.vigil.server.testing.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A lab of machines on one Linux box, for tests of things that must run on separate machines: every
 * {@link Host} is a network namespace with its own IP address, host name, home directory and
 * folder, plugged into one switch (a Linux bridge in a namespace of its own, so nothing in the real
 * machine's network changes). Hosts resolve each other by name.
 *
 * <pre>{@code
 * @RegisterExtension static final LabExtension lab = new LabExtension();
 *
 * @Test
 * void clientReachesTheServerByName() {
 *   Host server = lab.get().host("server");
 *   Host client = lab.get().host("client");
 *   String jwebserver = Path.of(System.getProperty("java.home"), "bin", "jwebserver").toString();
 *   server.start(List.of(jwebserver, "-b", "0.0.0.0", "-p", "8000"), Map.of(),
 *       server.dir().resolve("web.log"));
 *   assertThat(client.run("curl", "-sf", "http://server:8000/").ok()).isTrue();
 *   server.disconnect(); // now the client's requests time out
 * }
 * }</pre>
 *
 * <p><b>Isolation.</b> Each lab has a random id ({@code vlab} and four characters) that prefixes
 * its namespaces ({@code <id>-<host>}, {@code <id>-switch}) and a random private subnet {@code
 * 10.200-250.x.0/24} not used by the real machine or another lab, so labs of parallel test JVMs
 * never meet. Host {@code i} (from 0, in order of {@link #host}) gets address {@code .10+i}.
 *
 * <p><b>Teardown.</b> {@link #close()} kills every process in the lab's namespaces (those it
 * started and any others, from {@code ip netns pids}), deletes the namespaces, their {@code
 * /etc/netns} folders and the lab's folder. A JVM shutdown hook does the same when the test JVM
 * exits without closing. A JVM killed with SIGKILL runs no hook: for that, every new lab first
 * sweeps away what labs of dead JVMs left. A lab proves it is alive by holding a lock on {@code
 * /run/vigil-lab/<id>.lock}; the kernel drops the lock when its JVM dies, however it dies, so the
 * sweep never touches a running lab of another JVM.
 *
 * <p><b>Requirements.</b> Linux, root, {@code ip} (iproute2), {@code unshare} and {@code setpriv}
 * (util-linux), and the right to create namespaces; {@link #unavailableReason()} says what is
 * missing, and {@link LabExtension} turns that into a skipped test (a failure under {@code
 * CI=true}).
 *
 * <p>Thread-safe; meant to be driven by one test class at a time.
 */
public final class Lab implements AutoCloseable {

  /** Where live labs hold their lock files; tmpfs, so a reboot clears it with the namespaces. */
  static final Path LOCK_DIR = Path.of("/run/vigil-lab");

  static final Path NETNS_ETC = Path.of("/etc/netns");

  /** A lab id: {@code vlab} and four lower-case letters or digits. */
  static final Pattern ID = Pattern.compile("vlab[a-z0-9]{4}");

  /** A namespace, or {@code /etc/netns} folder, of a lab: group 1 is the lab id. */
  static final Pattern NAMESPACE = Pattern.compile("(" + ID.pattern() + ")-[a-z0-9-]+");

  private static final Pattern HOST_NAME = Pattern.compile("[a-z]([a-z0-9-]{0,22}[a-z0-9])?");
  private static final String SWITCH = "switch";
  private static final String BRIDGE = "br0";
  private static final int FIRST_HOST_ADDRESS = 10;
  private static final int MAX_HOSTS = 240;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Ids of the labs open in this JVM: the sweep leaves them alone without touching their locks. */
  private static final Map<String, Subnet> OPEN = new java.util.concurrent.ConcurrentHashMap<>();

  private static volatile String unavailable;
  private static volatile boolean probed;

  private final String id;
  private final Subnet subnet;
  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final Map<String, Host> hosts = new LinkedHashMap<>();
  private final Thread shutdownHook;
  private volatile boolean closed;

  /**
   * A lab's subnet {@code 10.<b>.<c>.0/24}.
   *
   * @param b the second octet
   * @param c the third octet
   */
  public record Subnet(int b, int c) {

    /** {@code 10.b.c.<last>}. */
    public String address(int last) {
      return "10." + b + "." + c + "." + last;
    }

    /** {@code 10.b.c.0/24}, e.g. for {@code pg_hba.conf}. */
    public String cidr() {
      return address(0) + "/24";
    }
  }

  private Lab(String id, Subnet subnet, Path dir, FileChannel lockChannel, FileLock lock) {
    this.id = id;
    this.subnet = subnet;
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.shutdownHook = new Thread(this::closeQuietly, "lab-" + id + "-teardown");
  }

  /**
   * Why labs cannot be built here (not Linux, not root, a tool missing, namespaces not permitted),
   * or null when they can. The answer is computed once per JVM.
   */
  public static String unavailableReason() {
    if (!probed) {
      synchronized (Lab.class) {
        if (!probed) {
          unavailable = probe();
          probed = true;
        }
      }
    }
    return unavailable;
  }

  private static String probe() {
    String os = System.getProperty("os.name");
    if (!os.toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return "a lab needs Linux network namespaces, and this is " + os;
    }
    int uid = effectiveUid();
    if (uid != 0) {
      return "a lab needs root (it creates network namespaces, veth pairs and /etc/netns files),"
          + " and this JVM runs as uid "
          + uid;
    }
    String[][] tools = {
      {"ip", "iproute2"}, {"unshare", "util-linux"}, {"setpriv", "util-linux"}, {"curl", "curl"}
    };
    for (String[] tool : tools) {
      if (Commands.find(tool[0]) == null) {
        return tool[0] + " is not installed (apt-get install -y " + tool[1] + ")";
      }
    }
    ExecResult netns = Commands.run(Commands.ip(), "netns", "list");
    if (!netns.ok()) {
      return "ip netns does not work here: " + netns.describe();
    }
    // What ip netns add and exec need, without leaving anything behind.
    ExecResult unshare =
        Commands.run(Commands.find("unshare"), "--net", "--mount", "--uts", "true");
    if (!unshare.ok()) {
      return "this machine does not permit new namespaces (a container without CAP_SYS_ADMIN?): "
          + unshare.describe();
    }
    return null;
  }

  static int effectiveUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return -1;
  }

  /**
   * Builds an empty lab: sweeps away labs of dead JVMs, claims an id and a subnet, creates the
   * switch. Add machines with {@link #host}.
   *
   * @throws LabException when labs cannot be built here ({@link #unavailableReason()}) or a step
   *     fails; what was built so far is torn down first
   */
  public static Lab create() {
    String reason = unavailableReason();
    if (reason != null) {
      throw new LabException("Cannot build a lab: " + reason);
    }
    Lab lab =
        exclusively(
            () -> {
              sweep();
              Lab claimed = claim();
              OPEN.put(claimed.id, claimed.subnet);
              return claimed;
            });
    try {
      Runtime.getRuntime().addShutdownHook(lab.shutdownHook);
      lab.createSwitch();
      return lab;
    } catch (RuntimeException e) {
      try {
        lab.close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The lab's id, the prefix of its namespaces. */
  public String id() {
    return id;
  }

  public Subnet subnet() {
    return subnet;
  }

  /** The lab's folder, holding one folder per host; deleted by {@link #close()}. */
  public Path dir() {
    return dir;
  }

  /**
   * The host named {@code name}, created on first call: a namespace with loopback up, a veth pair
   * to the switch, the next address of the subnet, {@code /etc/hosts} naming every host (the hosts
   * files of the others are updated in place, so running programs see the new name too), and its
   * folders.
   *
   * @param name lower-case letters, digits and inner dashes, at most 24 characters, not {@code
   *     localhost} or {@code switch}
   */
  public synchronized Host host(String name) {
    checkOpen();
    Host existing = hosts.get(name);
    if (existing != null) {
      return existing;
    }
    if (!HOST_NAME.matcher(name).matches() || name.equals(SWITCH) || name.equals("localhost")) {
      throw new IllegalArgumentException(
          "Bad host name '"
              + name
              + "': use lower-case letters, digits and inner dashes, at most 24 characters, not"
              + " 'localhost' or 'switch'");
    }
    if (hosts.size() >= MAX_HOSTS) {
      throw new IllegalStateException("A lab has at most " + MAX_HOSTS + " hosts");
    }
    int index = hosts.size();
    String namespace = id + "-" + name;
    // Interface names have at most 15 characters: "vlabxxxx" + "p" + up to 3 digits.
    String port = id + "p" + index;
    Host host =
        new Host(
            this,
            name,
            namespace,
            subnet.address(FIRST_HOST_ADDRESS + index),
            port,
            dir.resolve(name));
    hosts.put(name, host);
    try {
      Files.createDirectories(host.dir());
      Files.setPosixFilePermissions(host.dir(), PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.createDirectories(host.home());
      Files.setPosixFilePermissions(host.home(), PosixFilePermissions.fromString("rwx------"));
      Path etc = NETNS_ETC.resolve(namespace);
      Files.createDirectories(etc);
      Files.writeString(
          etc.resolve("resolv.conf"),
          "# lab " + id + ": no DNS server; every name is in /etc/hosts\noptions timeout:1\n");
      writeHostsFiles();
    } catch (IOException e) {
      throw new LabException("Cannot write the files of host " + name, e);
    }
    String ip = Commands.ip();
    Commands.check(ip, "netns", "add", namespace);
    Commands.check(ip, "-n", namespace, "link", "set", "lo", "up");
    String sw = switchNamespace();
    Commands.check(
        ip, "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
        namespace);
    Commands.check(ip, "-n", sw, "link", "set", port, "master", BRIDGE, "up");
    Commands.check(ip, "-n", namespace, "addr", "add", host.ip() + "/24", "dev", "eth0");
    Commands.check(ip, "-n", namespace, "link", "set", "eth0", "up");
    return host;
  }

  /** The hosts created so far, in order of creation. */
  public synchronized List<Host> hosts() {
    return List.copyOf(hosts.values());
  }

  /**
   * The text of every host's {@code /etc/hosts}: localhost, then each host by address.
   *
   * @param hosts host name to IPv4 address, in order
   */
  static String hostsFile(String labId, Map<String, String> hosts) {
    StringBuilder sb = new StringBuilder();
    sb.append("# lab ").append(labId).append(": every host of the lab\n");
    sb.append("127.0.0.1\tlocalhost\n");
    sb.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
    hosts.forEach((name, ip) -> sb.append(ip).append('\t').append(name).append('\n'));
    return sb.toString();
  }

  private void writeHostsFiles() throws IOException {
    Map<String, String> addresses = new LinkedHashMap<>();
    hosts.values().forEach(h -> addresses.put(h.name(), h.ip()));
    String text = hostsFile(id, addresses);
    for (Host h : hosts.values()) {
      // Written in place (same inode): the running programs of a host have this file
      // bind-mounted as /etc/hosts, and a new file would not replace what they see.
      Files.writeString(
          NETNS_ETC.resolve(h.namespace()).resolve("hosts"),
          text,
          StandardOpenOption.CREATE,
          StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING);
    }
  }

  void setPort(String port, boolean up) {
    checkOpen();
    Commands.check(Commands.ip(), "-n", switchNamespace(), "link", "set", port, up ? "up" : "down");
  }

  void checkOpen() {
    if (closed) {
      throw new IllegalStateException("Lab " + id + " is closed");
    }
  }

  private String switchNamespace() {
    return id + "-" + SWITCH;
  }

  private void createSwitch() {
    String ip = Commands.ip();
    String sw = switchNamespace();
    Commands.check(ip, "netns", "add", sw);
    Commands.check(ip, "-n", sw, "link", "set", "lo", "up");
    Commands.check(ip, "-n", sw, "link", "add", BRIDGE, "type", "bridge");
    Commands.check(ip, "-n", sw, "link", "set", BRIDGE, "up");
  }

  /**
   * Tears the lab down: kills every process of its namespaces, deletes the namespaces, their {@code
   * /etc/netns} folders and the lab's folder, and releases the lab's lock. Idempotent.
   *
   * @throws LabException listing what could not be removed (everything else still is)
   */
  @Override
  public void close() {
    List<String> errors = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      hosts.values().forEach(Host::killProcesses);
      List<String> namespaces = new ArrayList<>();
      hosts.values().forEach(h -> namespaces.add(h.namespace()));
      namespaces.add(switchNamespace());
      // Also namespaces of this lab that a failed host() left half-made.
      namespaces.addAll(namespacesOf(id));
      removeAll(id, new TreeSet<>(namespaces), dir, errors);
    }
    exclusively(
        () -> {
          try {
            Files.deleteIfExists(LOCK_DIR.resolve(id + ".lock"));
            lock.release();
            lockChannel.close();
          } catch (IOException e) {
            errors.add("lock file: " + e);
          }
          OPEN.remove(id);
          return null;
        });
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: this is the hook
    }
    if (!errors.isEmpty()) {
      throw new LabException(
          "Lab " + id + " was not removed completely:\n" + String.join("\n", errors));
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (RuntimeException e) {
      System.err.println(e.getMessage());
    }
  }

  /**
   * Removes what labs of dead JVMs left: namespaces (after killing their processes), {@code
   * /etc/netns} folders, lab folders and lock files of every lab id whose lock nobody holds. Called
   * by {@link #create()} under the machine-wide lock.
   */
  static void sweep() {
    Set<String> ids = new TreeSet<>();
    for (String ns : namespaces()) {
      idOf(ns, ids);
    }
    for (Path etc : list(NETNS_ETC)) {
      idOf(etc.getFileName().toString(), ids);
    }
    for (Path file : list(LOCK_DIR)) {
      String name = file.getFileName().toString();
      if (name.endsWith(".lock") && ID.matcher(name.substring(0, name.length() - 5)).matches()) {
        ids.add(name.substring(0, name.length() - 5));
      }
    }
    for (String id : ids) {
      if (!OPEN.containsKey(id)) {
        sweep(id);
      }
    }
  }

  private static void sweep(String id) {
    Path lockFile = LOCK_DIR.resolve(id + ".lock");
    try {
      Files.createDirectories(LOCK_DIR);
      if (!Files.exists(lockFile)) {
        // A lab creates its lock file before anything else, so leftovers without one have no
        // owner that could still be alive.
        Files.createFile(lockFile);
      }
      try (FileChannel channel =
          FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        FileLock held = channel.tryLock();
        if (held == null) {
          return; // a live lab of another JVM
        }
        try {
          // Read through the locked channel: closing another descriptor would drop the lock.
          ByteBuffer buffer = ByteBuffer.allocate(4096);
          channel.read(buffer, 0);
          String recorded =
              new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
          String[] lines = recorded.split("\n");
          Path labDir = lines.length > 1 ? Path.of(lines[1]) : null;
          if (labDir != null && !labDir.getFileName().toString().equals("vigil-lab-" + id)) {
            labDir = null; // not written by a lab: never delete it
          }
          List<String> errors = new ArrayList<>();
          removeAll(id, namespacesOf(id), labDir, errors);
          if (!errors.isEmpty()) {
            System.err.println(
                "Could not sweep away lab " + id + " of a dead JVM:\n" + String.join("\n", errors));
          }
          Files.deleteIfExists(lockFile);
        } finally {
          held.release();
        }
      }
    } catch (IOException e) {
      System.err.println("Could not sweep away lab " + id + ": " + e);
    }
  }

  private static void idOf(String name, Set<String> ids) {
    Matcher m = NAMESPACE.matcher(name);
    if (m.matches()) {
      ids.add(m.group(1));
    }
  }

  /** Kills the processes of, and deletes, namespaces, their /etc/netns folders and a lab dir. */
  private static void removeAll(
      String id, Collection<String> namespaces, Path labDir, List<String> errors) {
    for (String ns : namespaces) {
      killAllIn(ns, errors);
    }
    for (String ns : namespaces) {
      ExecResult r = Commands.run(Commands.ip(), "netns", "delete", ns);
      if (!r.ok() && namespaces().contains(ns)) {
        errors.add(r.describe());
      }
      deleteTree(NETNS_ETC.resolve(ns), errors);
    }
    // Folders in /etc/netns of namespaces that never got made.
    for (Path etc : list(NETNS_ETC)) {
      Matcher m = NAMESPACE.matcher(etc.getFileName().toString());
      if (m.matches() && m.group(1).equals(id)) {
        deleteTree(etc, errors);
      }
    }
    if (labDir != null) {
      deleteTree(labDir, errors);
    }
  }

  /** SIGKILL to every process in {@code namespace} until none is left (at most 10 s). */
  private static void killAllIn(String namespace, List<String> errors) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      ExecResult r = Commands.run(Commands.ip(), "netns", "pids", namespace);
      if (!r.ok()) {
        return; // no such namespace
      }
      List<Long> pids =
          r.stdout()
              .lines()
              .map(String::strip)
              .filter(s -> !s.isEmpty())
              .map(Long::valueOf)
              .filter(Lab::running)
              .toList();
      if (pids.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        errors.add("processes " + pids + " in namespace " + namespace + " survive SIGKILL");
        return;
      }
      pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      Commands.sleep(20);
    }
  }

  /**
   * Whether {@code pid} is a process that has not ended: a killed process whose parent has not
   * reaped it yet (a zombie) has ended, although {@link ProcessHandle#isAlive()} still says yes.
   */
  static boolean running(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'.
      String state = stat.substring(stat.lastIndexOf(')') + 1).strip();
      return !state.startsWith("Z") && !state.startsWith("X");
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The names of all network namespaces, as {@code ip netns list} gives them. */
  static List<String> namespaces() {
    return Commands.run(Commands.ip(), "netns", "list")
        .orThrow()
        .stdout()
        .lines()
        .map(line -> line.strip().split("\\s+")[0])
        .filter(s -> !s.isEmpty())
        .toList();
  }

  /** The namespaces of lab {@code id}. */
  static List<String> namespacesOf(String id) {
    return namespaces().stream().filter(ns -> ns.startsWith(id + "-")).toList();
  }

  /**
   * Picks an unused id, creates its lock file and locks it. Callers hold the machine-wide lock, so
   * no sweep of another JVM runs between the file's creation and its lock.
   */
  private static Lab claim() {
    for (int attempt = 0; attempt < 50; attempt++) {
      String id = "vlab" + randomChars(4);
      Path lockFile = LOCK_DIR.resolve(id + ".lock");
      Path dir =
          Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath().resolve("vigil-lab-" + id);
      if (OPEN.containsKey(id)
          || Files.exists(lockFile)
          || Files.exists(dir)
          || !namespacesOf(id).isEmpty()) {
        continue;
      }
      // Before the lock file exists: freeSubnet() reads the lock files, and closing a descriptor
      // of our own lock file would drop our lock.
      Subnet subnet = freeSubnet();
      FileChannel channel = null;
      try {
        channel =
            FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock lock = channel.lock();
        // Read by sweeps (the folder to delete) and by other labs (the subnet to avoid).
        channel.write(
            ByteBuffer.wrap(
                ("lab " + id + "\n" + dir + "\n" + subnet.cidr() + "\n")
                    .getBytes(StandardCharsets.UTF_8)));
        channel.force(true);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return new Lab(id, subnet, dir, channel, lock);
      } catch (IOException e) {
        try {
          if (channel != null) {
            channel.close();
            Files.deleteIfExists(lockFile);
          }
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw new LabException("Cannot claim lab id " + id + " (" + lockFile + ")", e);
      }
    }
    throw new LabException("No free lab id after 50 attempts; see " + LOCK_DIR);
  }

  /**
   * Runs {@code action} holding this JVM's class lock and the machine-wide lock file, which every
   * lab takes to sweep, claim an id, or delete its lock file.
   */
  @SuppressWarnings("try") // the file lock is held for the body, which has no other use for it
  private static <T> T exclusively(java.util.function.Supplier<T> action) {
    synchronized (Lab.class) {
      try {
        Files.createDirectories(LOCK_DIR);
        try (FileChannel channel =
                FileChannel.open(
                    LOCK_DIR.resolve("labs.lock"),
                    StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock held = channel.lock()) {
          return action.get();
        }
      } catch (IOException e) {
        throw new LabException("Cannot take the lock " + LOCK_DIR.resolve("labs.lock"), e);
      }
    }
  }

  /**
   * A random subnet 10.200-250.x.0/24 that no address or route of the real machine, no lab
   * namespace and no other live lab (as its lock file records) uses. Labs never share a switch, so
   * a clash would not mix their traffic; avoiding it keeps addresses unambiguous in logs.
   */
  private static Subnet freeSubnet() {
    Set<String> used = new HashSet<>();
    OPEN.values().forEach(s -> used.add("10." + s.b() + "." + s.c()));
    for (Path file : list(LOCK_DIR)) {
      String name = file.getFileName().toString();
      if (OPEN.containsKey(name.replace(".lock", ""))) {
        // Closing any descriptor of a file drops this JVM's lock on it: never open our own.
        continue;
      }
      try {
        collectSubnets(Files.readString(file), used);
      } catch (IOException e) {
        // gone meanwhile
      }
    }
    collectSubnets(Commands.run(Commands.ip(), "-4", "-o", "addr", "show").stdout(), used);
    collectSubnets(
        Commands.run(Commands.ip(), "-4", "route", "show", "table", "all").stdout(), used);
    for (String ns : namespaces()) {
      if (NAMESPACE.matcher(ns).matches()) {
        collectSubnets(
            Commands.run(Commands.ip(), "-n", ns, "-4", "-o", "addr", "show").stdout(), used);
      }
    }
    for (int attempt = 0; attempt < 1000; attempt++) {
      Subnet s = new Subnet(200 + RANDOM.nextInt(51), RANDOM.nextInt(256));
      if (!used.contains("10." + s.b() + "." + s.c())) {
        return s;
      }
    }
    throw new LabException("No free subnet in 10.200-250.x.0/24");
  }

  /** Adds the first three octets of every 10.x.y.z address in {@code text} to {@code used}. */
  static void collectSubnets(String text, Set<String> used) {
    Matcher m = Pattern.compile("\\b10\\.(\\d{1,3})\\.(\\d{1,3})\\.\\d{1,3}").matcher(text);
    while (m.find()) {
      used.add("10." + m.group(1) + "." + m.group(2));
    }
  }

  private static String randomChars(int n) {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static List<Path> list(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static void deleteTree(Path root, List<String> errors) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      errors.add("cannot delete " + root + ": " + e);
    }
  }

  @Override
  public String toString() {
    return "lab " + id + " on " + subnet.cidr() + " with " + hosts().size() + " hosts";
  }
}
