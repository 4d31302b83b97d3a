package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The lab itself: names, links, processes, accounts and teardown, with real namespaces. */
class LabNetworkIT {

  /** A fresh lab for every test: each starts its own web server on the same port. */
  @RegisterExtension final LabExtension lab = new LabExtension();

  @Test
  void hostsResolveAndReachEachOtherByName() throws IOException {
    Host server = lab.get().host("server");
    Host client = lab.get().host("client");
    startWebServer(server);

    assertThat(server.run("hostname").orThrow().stdout().strip()).isEqualTo("server");
    assertThat(client.run("hostname").orThrow().stdout().strip()).isEqualTo("client");
    assertThat(client.run("getent", "hosts", "server").orThrow().stdout())
        .startsWith(server.ip() + " ");
    assertThat(server.ip()).isNotEqualTo(client.ip()).startsWith("10.");
    awaitServed(client, Duration.ofSeconds(15));
    // The server sees the client's own address: two machines, not one loopback.
    HostProcess web = server.processes().getFirst();
    await("the server logged the client's address", () -> web.logText().contains(client.ip()));
  }

  @Test
  void aCutLinkStopsTrafficAndReconnectRestoresIt() throws IOException {
    Host server = lab.get().host("server");
    Host client = lab.get().host("client");
    startWebServer(server);
    awaitServed(client, Duration.ofSeconds(15));

    server.disconnect();
    assertThat(server.connected()).isFalse();
    ExecResult cut = fetch(client);
    assertThat(cut.exitCode()).as(cut.describe()).isEqualTo(28); // curl: timed out
    // Loopback on the cut-off host still works.
    assertThat(server.run("curl", "-sf", "-m", "2", "http://localhost:8000/who.txt").ok()).isTrue();

    server.reconnect();
    awaitServed(client, Duration.ofSeconds(10));
  }

  @Test
  void aStartedProgramRunsInItsHostsNamespaceWithItsHomeAndKill9KillsIt() {
    Host host = lab.get().host("worker");
    HostProcess sleeper =
        host.start(
            List.of("sh", "-c", "echo \"home=$HOME greeting=$GREETING\"; exec sleep 300"),
            Map.of("GREETING", "hello"),
            host.dir().resolve("sleep.log"));
    await("the program wrote its home", () -> sleeper.logText().contains("home="));
    assertThat(sleeper.logText().strip()).isEqualTo("home=" + host.home() + " greeting=hello");
    // ip netns exec, unshare and the host-name step exec: the pid is the program itself.
    await(
        "the program is sleep",
        () ->
            ProcessHandle.of(sleeper.pid())
                .flatMap(p -> p.info().command())
                .orElse("")
                .endsWith("/sleep"));
    assertThat(pidsIn(host)).containsExactly(sleeper.pid());

    sleeper.kill9();
    assertThat(sleeper.isAlive()).isFalse();
    assertThat(pidsIn(host)).isEmpty();
  }

  @Test
  void aProgramRunAsTheLabAccountHasItsRightsOnly() {
    Host host = lab.get().host("worker");
    LabAccount account = LabAccount.system();
    ExecResult id = host.runAs(account, Duration.ofSeconds(10), List.of("id", "-u"));
    assertThat(id.orThrow().stdout().strip()).isEqualTo(Integer.toString(account.uid()));
    assertThat(account.uid()).isNotZero();
    ExecResult home =
        host.runAs(account, Duration.ofSeconds(10), List.of("sh", "-c", "echo $HOME; touch x"));
    assertThat(home.orThrow().stdout().strip()).isEqualTo(host.home(account).toString());
    assertThat(host.home(account).resolve("x")).exists();
    // Root's home on the host is owner-only.
    ExecResult denied =
        host.runAs(account, Duration.ofSeconds(10), List.of("ls", host.home().toString()));
    assertThat(denied.exitCode()).isNotZero();
    assertThat(denied.stderr()).contains("Permission denied");
  }

  @Test
  void aCommandThatRunsTooLongIsKilledAndReported() {
    Host host = lab.get().host("worker");
    long t0 = System.nanoTime();
    try {
      host.run(Duration.ofMillis(500), List.of("sleep", "30"));
      throw new AssertionError("sleep 30 returned within 500 ms");
    } catch (LabException e) {
      assertThat(e.getMessage()).contains("did not finish within PT0.5S");
    }
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
    assertThat(pidsIn(host)).isEmpty();
  }

  @Test
  void closingALabLeavesNoNamespaceFolderOrProcessBehind() throws IOException {
    Lab own = Lab.create();
    Host a = own.host("a");
    own.host("b");
    HostProcess sleeper = a.start(List.of("sleep", "300"), Map.of(), a.dir().resolve("s.log"));
    // A daemon the lab did not start itself, which only the namespace sweep can find.
    a.run("sh", "-c", "setsid sleep 300 > /dev/null 2>&1 < /dev/null &").orThrow();
    assertThat(Lab.namespacesOf(own.id())).hasSize(3);
    List<Long> pids = pidsIn(a);
    assertThat(pids).hasSize(2).contains(sleeper.pid());

    own.close();

    assertThat(sleeper.isAlive()).isFalse();
    assertThat(pids).noneMatch(Lab::running);
    assertThat(Lab.namespacesOf(own.id())).isEmpty();
    assertThat(etcNetnsOf(own.id())).isEmpty();
    assertThat(own.dir()).doesNotExist();
    assertThat(Lab.LOCK_DIR.resolve(own.id() + ".lock")).doesNotExist();
    own.close(); // idempotent
  }

  @Test
  void aNewLabSweepsAwayWhatTheLabOfAKilledJvmLeft() throws Exception {
    String id = unusedId();
    String ns = id + "-ghost";
    Path dir = Path.of(System.getProperty("java.io.tmpdir")).resolve("vigil-lab-" + id);
    Process ghost = leaveBehind(id, ns, dir);

    Lab.create().close();

    assertThat(ghost.waitFor(10, TimeUnit.SECONDS)).as("the ghost's process was killed").isTrue();
    assertThat(Lab.namespacesOf(id)).isEmpty();
    assertThat(etcNetnsOf(id)).isEmpty();
    assertThat(dir).doesNotExist();
    assertThat(Lab.LOCK_DIR.resolve(id + ".lock")).doesNotExist();
  }

  @Test
  void aLabItsJvmDidNotCloseIsRemovedWhenTheJvmExits() throws Exception {
    Process jvm = abandonLab("exit");
    String[] lab = firstLine(jvm);
    assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(Lab.namespacesOf(lab[0])).isEmpty();
    assertThat(etcNetnsOf(lab[0])).isEmpty();
    assertThat(Lab.running(Long.parseLong(lab[1]))).as("the lab's program").isFalse();
  }

  @Test
  void aLiveLabOfAnotherJvmIsLeftAloneAndSweptOnceThatJvmIsKilled() throws Exception {
    Process jvm = abandonLab("stay");
    String[] lab = firstLine(jvm);
    try {
      Lab.create().close();
      assertThat(Lab.namespacesOf(lab[0])).hasSize(2);
      assertThat(Lab.running(Long.parseLong(lab[1]))).isTrue();
    } finally {
      jvm.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
    }
    assertThat(Lab.namespacesOf(lab[0])).as("left behind by the killed JVM").hasSize(2);

    Lab.create().close();

    assertThat(Lab.namespacesOf(lab[0])).isEmpty();
    assertThat(etcNetnsOf(lab[0])).isEmpty();
    assertThat(Lab.running(Long.parseLong(lab[1]))).as("the lab's program").isFalse();
    assertThat(Lab.LOCK_DIR.resolve(lab[0] + ".lock")).doesNotExist();
  }

  /**
   * A JVM that builds a lab with one host running {@code sleep}, prints the lab's id and the
   * program's pid, and then exits without closing the lab ({@code exit}) or waits to be killed.
   */
  static final class AbandonedLab {
    public static void main(String[] args) throws Exception {
      Lab lab = Lab.create();
      Host host = lab.host("left");
      HostProcess p = host.start(List.of("sleep", "300"), Map.of(), host.dir().resolve("s.log"));
      System.out.println(lab.id() + " " + p.pid());
      System.out.flush();
      if (args[0].equals("exit")) {
        System.exit(0);
      }
      Thread.sleep(300_000);
    }
  }

  private static Process abandonLab(String mode) throws IOException {
    return new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp",
            System.getProperty("java.class.path"),
            AbandonedLab.class.getName(),
            mode)
        .redirectErrorStream(true)
        .start();
  }

  private static String[] firstLine(Process jvm) throws IOException {
    BufferedReader out =
        new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    assertThat(line).as("the other JVM's first line").matches("vlab[a-z0-9]{4} \\d+");
    return line.split(" ");
  }

  // --- helpers

  private static void startWebServer(Host server) throws IOException {
    Path www = server.dir().resolve("www");
    Files.createDirectories(www);
    Files.writeString(www.resolve("who.txt"), "served by " + server.name());
    String jwebserver = Path.of(System.getProperty("java.home"), "bin", "jwebserver").toString();
    server.start(
        List.of(jwebserver, "-b", "0.0.0.0", "-p", "8000", "-d", www.toString()),
        Map.of(),
        server.dir().resolve("web.log"));
  }

  private static ExecResult fetch(Host client) {
    return client.run("curl", "-sS", "-m", "2", "http://server:8000/who.txt");
  }

  private static void awaitServed(Host client, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      ExecResult r = fetch(client);
      if (r.ok()) {
        assertThat(r.stdout()).isEqualTo("served by server");
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "client did not reach server within " + timeout + ": " + r.describe());
      }
      Commands.sleep(100);
    }
  }

  private static List<Long> pidsIn(Host host) {
    return Commands.check(Commands.ip(), "netns", "pids", host.namespace())
        .stdout()
        .lines()
        .map(String::strip)
        .filter(s -> !s.isEmpty())
        .map(Long::valueOf)
        .filter(Lab::running)
        .toList();
  }

  private static List<Path> etcNetnsOf(String id) throws IOException {
    if (!Files.isDirectory(Lab.NETNS_ETC)) {
      return List.of();
    }
    try (var s = Files.list(Lab.NETNS_ETC)) {
      return s.filter(p -> p.getFileName().toString().startsWith(id + "-")).toList();
    }
  }

  private static String unusedId() {
    while (true) {
      StringBuilder id = new StringBuilder("vlab");
      for (int i = 0; i < 4; i++) {
        id.append(Character.forDigit(ThreadLocalRandom.current().nextInt(36), 36));
      }
      if (Lab.namespacesOf(id.toString()).isEmpty()
          && !Files.exists(Lab.LOCK_DIR.resolve(id + ".lock"))) {
        return id.toString();
      }
    }
  }

  /**
   * What a lab of a JVM killed with SIGKILL leaves: a namespace with a running process, its
   * /etc/netns folder, its folder and its (unlocked) lock file.
   */
  private static Process leaveBehind(String id, String ns, Path dir) throws IOException {
    Commands.check(Commands.ip(), "netns", "add", ns);
    Files.createDirectories(Lab.NETNS_ETC.resolve(ns));
    Files.writeString(Lab.NETNS_ETC.resolve(ns).resolve("hosts"), "127.0.0.1 localhost\n");
    Files.createDirectories(dir.resolve("ghost"));
    Files.createDirectories(Lab.LOCK_DIR);
    Files.writeString(Lab.LOCK_DIR.resolve(id + ".lock"), "lab " + id + "\n" + dir + "\n");
    Process p =
        new ProcessBuilder(Commands.ip(), "netns", "exec", ns, "sleep", "300")
            .redirectErrorStream(true)
            .start();
    await("the left-over process runs", () -> p.isAlive() && !namespacePids(ns).isEmpty());
    return p;
  }

  private static List<String> namespacePids(String ns) {
    return Commands.run(Commands.ip(), "netns", "pids", ns).stdout().lines().toList();
  }

  private static void await(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Commands.sleep(20);
    }
  }
}
