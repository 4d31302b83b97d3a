package io.vigil.server.testing.lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A PostgreSQL server on a lab host of its own, as a cluster's shared database would run: a fresh
 * cluster made by {@code initdb} in the host's folder, the server running as the unprivileged
 * {@link LabAccount#system()} account (PostgreSQL refuses root), listening on the host's lab
 * address only, with {@code pg_hba.conf} admitting the lab's subnet with a password (SCRAM-SHA-256)
 * to one database {@code vigil} owned by one user {@code vigil}.
 *
 * <pre>{@code
 * LabPostgres db = LabPostgres.start(lab.host("db"));
 * db.jdbcUrl();   // jdbc:postgresql://db:5432/vigil
 * db.user();      // vigil
 * db.password();  // random, per lab
 * }</pre>
 *
 * <p>It runs on a {@link Machine}: a lab {@link Host} (port {@value #PORT}, the lab's subnet
 * admitted), or a {@link LoopbackMachine} (the machine's own port, {@code 127.0.0.1} admitted) when
 * the test JVM must reach it directly, e.g. through TCP proxies.
 *
 * <p>Durability is traded for speed ({@code fsync=off}): a test database never outlives a power
 * cut. {@link #kill9()} crashes the postmaster; its backends die when the lab closes, as every
 * process of the host does. {@link #crash()} ends every process at once (an immediate shutdown),
 * {@link #restart()} starts the server again and {@link #rebuildAsStandbyOf} makes an old primary
 * rejoin as a standby.
 */
public final class LabPostgres implements AutoCloseable {

  public static final int PORT = 5432;
  public static final String DATABASE = "vigil";
  public static final String USER = "vigil";
  public static final String REPLICATION_USER = "replicator";

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Machine host;
  private final int port;
  private final LabAccount account;
  private final Path bin;
  private final Path data;
  private final Path socketDir;
  private String password;
  private List<String> settings = List.of();
  private HostProcess server;

  private LabPostgres(
      Machine host, LabAccount account, Path bin, Path data, Path socketDir, String password) {
    this.host = host;
    this.port = host.port(PORT);
    this.account = account;
    this.bin = bin;
    this.data = data;
    this.socketDir = socketDir;
    this.password = password;
  }

  /**
   * The folder of PostgreSQL's server programs ({@code initdb}, {@code postgres}): the newest
   * {@code /usr/lib/postgresql/<version>/bin} (Debian), else the folder of {@code initdb} on the
   * PATH; null when PostgreSQL is not installed.
   */
  public static Path binaries() {
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (Stream<Path> versions = Files.list(debian)) {
        Path newest =
            versions
                .filter(v -> Files.isExecutable(v.resolve("bin").resolve("initdb")))
                .max(Comparator.comparingInt(LabPostgres::version))
                .orElse(null);
        if (newest != null) {
          return newest.resolve("bin");
        }
      } catch (IOException e) {
        // fall through to PATH
      }
    }
    String initdb = Commands.find("initdb");
    return initdb == null ? null : Path.of(initdb).getParent();
  }

  /** Why a lab PostgreSQL cannot run here, or null when it can. */
  public static String unavailableReason() {
    return unavailableReason(Lab.unavailableReason());
  }

  /** Why a PostgreSQL cannot run on a {@link LoopbackMachine} here, or null when it can. */
  public static String loopbackUnavailableReason() {
    return unavailableReason(LoopbackMachine.unavailableReason());
  }

  private static String unavailableReason(String machines) {
    if (machines != null) {
      return machines;
    }
    return binaries() == null
        ? "PostgreSQL is not installed (apt-get install -y postgresql): no initdb in"
            + " /usr/lib/postgresql/*/bin or on the PATH"
        : null;
  }

  private static int version(Path dir) {
    try {
      return Integer.parseInt(dir.getFileName().toString().split("\\.")[0]);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Creates the cluster on {@code host}, starts the server, creates the user and database, and
   * returns once it accepts connections (at most about 30 s).
   *
   * @throws LabException with the server's log when a step fails
   */
  public static LabPostgres start(Machine host) {
    return start(host, false);
  }

  /**
   * Like {@link #start(Machine)}, for a primary that replicates synchronously: {@code
   * synchronous_commit=on}, a replication user the standbys of {@link #startStandby} connect as,
   * and once a standby streams, every standby synchronous ({@code synchronous_standby_names='*'}):
   * a commit is acknowledged only once a standby has it.
   */
  public static LabPostgres startPrimary(Machine host) {
    return start(host, true);
  }

  private static LabPostgres start(Machine host, boolean primary) {
    LabPostgres pg = prepare(host);
    pg.initdb(pg.data);
    if (primary) {
      pg.allowReplication();
    }
    pg.startServer(List.of(primary ? "synchronous_commit=on" : "synchronous_commit=off"));
    pg.createDatabase(primary);
    return pg;
  }

  /**
   * A streaming-replication standby of {@code primary} on {@code host}: a copy by {@code
   * pg_basebackup -R} (which also writes how to reach the primary), started in recovery. It answers
   * read-only queries and becomes a primary on {@link #promote()}.
   */
  public static LabPostgres startStandby(Machine host, LabPostgres primary) {
    LabPostgres pg = prepare(host);
    Path pass = pg.socketDir.resolve("replication.pass");
    pg.writeOwned(
        pass,
        primary.host.name()
            + ":"
            + primary.port
            + ":*:"
            + REPLICATION_USER
            + ":"
            + primary.password
            + "\n");
    pg.host
        .runAs(
            pg.account,
            Duration.ofSeconds(120),
            List.of(
                pg.bin.resolve("pg_basebackup").toString(),
                "-d",
                "host="
                    + primary.host.name()
                    + " port="
                    + primary.port
                    + " user="
                    + REPLICATION_USER
                    + " passfile="
                    + pass,
                "-D",
                pg.data.toString(),
                "-R",
                "-X",
                "stream",
                // An immediate checkpoint: the default spreads it over about half a minute.
                "--checkpoint=fast",
                "--no-sync"))
        .orThrow();
    pg.password = primary.password;
    // Promoted, it is a primary without standbys: its commits must not wait for one. After a
    // restart of its primary it retries streaming every second, not every 5 s (the default), as
    // docs/cluster.md tells operators to set up a synchronous standby.
    pg.startServer(List.of("synchronous_commit=on", "wal_retrieve_retry_interval=1s"));
    // Only now is the primary told to wait for a standby (set earlier, pg_basebackup would have
    // copied the setting and the promoted standby would wait forever).
    primary.query("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary.query("postgres", "SELECT pg_reload_conf()");
    primary.awaitSynchronousStandby(Duration.ofSeconds(30));
    return pg;
  }

  /**
   * Waits until a standby streams from this primary synchronously. After a restart of the primary
   * that takes up to the standby's {@code wal_retrieve_retry_interval}, and until then every commit
   * waits.
   */
  public void awaitSynchronousStandby(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (query("postgres", "SELECT sync_state FROM pg_stat_replication")
        .lines()
        .noneMatch("sync"::equals)) {
      if (System.nanoTime() > deadline) {
        throw new LabException(
            "No standby of "
                + host.name()
                + " is synchronous within "
                + timeout
                + ":\n"
                + logText());
      }
      Commands.sleep(100);
    }
  }

  private static LabPostgres prepare(Machine host) {
    Path bin = binaries();
    if (bin == null) {
      throw new LabException(unavailableReason());
    }
    LabAccount account = LabAccount.system();
    Path data = host.dir().resolve("pgdata");
    Path socketDir = host.dir().resolve("pgsocket");
    try {
      for (Path dir : List.of(data, socketDir)) {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        account.chown(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new LabPostgres(host, account, bin, data, socketDir, randomPassword());
  }

  private void startServer(List<String> settings) {
    List<String> command =
        new ArrayList<>(
            List.of(
                bin.resolve("postgres").toString(),
                "-D",
                data.toString(),
                "-p",
                Integer.toString(port),
                "-c",
                "listen_addresses=" + host.ip(),
                "-c",
                "unix_socket_directories=" + socketDir,
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off"));
    this.settings = List.copyOf(settings);
    for (String setting : settings) {
      command.add("-c");
      command.add(setting);
    }
    server = host.startAs(account, command, Map.of(), host.dir().resolve("postgres.log"));
    awaitAccepting(Duration.ofSeconds(30));
  }

  /** Lets standbys on the lab's subnet stream from this server as {@link #REPLICATION_USER}. */
  private void allowReplication() {
    try {
      Files.writeString(
          data.resolve("pg_hba.conf"),
          "host replication " + REPLICATION_USER + " " + host.clients() + " scram-sha-256\n",
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Ends recovery: a standby becomes a primary that accepts writes ({@code pg_promote()}, which
   * waits until it has).
   */
  public void promote() {
    String done = query("postgres", "SELECT pg_promote(true, 60)").strip();
    if (!"t".equals(done)) {
      throw new LabException("PostgreSQL on " + host.name() + " was not promoted:\n" + logText());
    }
  }

  /**
   * The environment a Vigil node needs for a database on several servers, a primary and its
   * standbys: one URL that lists them all and asks for the primary.
   */
  public static Map<String, String> nodeEnv(List<LabPostgres> servers) {
    StringBuilder hosts = new StringBuilder();
    for (LabPostgres pg : servers) {
      hosts.append(hosts.isEmpty() ? "" : ",").append(pg.host.name()).append(':').append(pg.port);
    }
    LabPostgres first = servers.getFirst();
    return Map.of(
        "VIGIL_DB_URL",
        "jdbc:postgresql://" + hosts + "/" + DATABASE + "?targetServerType=primary",
        "VIGIL_DB_USER",
        USER,
        "VIGIL_DB_PASSWORD",
        first.password);
  }

  private void initdb(Path data) {
    host.runAs(
            account,
            Duration.ofSeconds(60),
            List.of(
                bin.resolve("initdb").toString(),
                "-D",
                data.toString(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync"))
        .orThrow();
    // Only the lab's subnet, only with a password; the superuser only on the private socket.
    writeOwned(
        data.resolve("pg_hba.conf"),
        "# lab: superuser on the socket in the host's folder only; the lab subnet by password\n"
            + "local all postgres trust\n"
            + "host "
            + DATABASE
            + " "
            + USER
            + " "
            + host.clients()
            + " scram-sha-256\n");
  }

  private void awaitAccepting(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!server.isAlive()) {
        throw new LabException("PostgreSQL on " + host.name() + " exited:\n" + server.logText());
      }
      ExecResult ready =
          host.runAs(
              account,
              Duration.ofSeconds(5),
              List.of(
                  bin.resolve("pg_isready").toString(),
                  "-q",
                  "-h",
                  socketDir.toString(),
                  "-p",
                  Integer.toString(port),
                  "-U",
                  "postgres"));
      if (ready.ok()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new LabException(
            "PostgreSQL on " + host.name() + " not ready within " + timeout + ":\n" + logText());
      }
      Commands.sleep(100);
    }
  }

  private void createDatabase(boolean replication) {
    // The password goes in a file, never on a command line where ps would show it.
    Path sql = socketDir.resolve("create.sql");
    writeOwned(
        sql,
        "CREATE ROLE "
            + USER
            + " LOGIN PASSWORD '"
            + password
            + "';\nCREATE DATABASE "
            + DATABASE
            + " OWNER "
            + USER
            + ";\n"
            + (replication
                ? "CREATE ROLE "
                    + REPLICATION_USER
                    + " LOGIN REPLICATION PASSWORD '"
                    + password
                    + "';\n"
                : ""));
    try {
      host.runAs(
              account,
              Duration.ofSeconds(30),
              List.of(
                  bin.resolve("psql").toString(),
                  "-q",
                  "-v",
                  "ON_ERROR_STOP=1",
                  "-h",
                  socketDir.toString(),
                  "-p",
                  Integer.toString(port),
                  "-U",
                  "postgres",
                  "-d",
                  "postgres",
                  "-f",
                  sql.toString()))
          .orThrow();
    } finally {
      try {
        Files.deleteIfExists(sql);
      } catch (IOException e) {
        // in the host's folder, deleted with the lab
      }
    }
  }

  /** Writes a file owner-only and owned by the server's account. */
  private void writeOwned(Path file, String text) {
    try {
      Files.deleteIfExists(file);
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    account.chown(file);
  }

  private static String randomPassword() {
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 24; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  public Machine host() {
    return host;
  }

  /** The port it listens on: {@value #PORT} on a lab host, the machine's own on the loopback. */
  public int port() {
    return port;
  }

  /**
   * {@code jdbc:postgresql://<host name>:5432/vigil}, for programs on the lab's hosts (on the
   * loopback, {@code 127.0.0.1} and the machine's port).
   */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + host.name() + ":" + port + "/" + DATABASE;
  }

  public String user() {
    return USER;
  }

  public String password() {
    return password;
  }

  /** The environment a Vigil node needs for this database: VIGIL_DB_URL, _USER, _PASSWORD. */
  public Map<String, String> nodeEnv() {
    return Map.of("VIGIL_DB_URL", jdbcUrl(), "VIGIL_DB_USER", USER, "VIGIL_DB_PASSWORD", password);
  }

  /**
   * Runs SQL as the superuser over the server's private socket and returns psql's unaligned,
   * tuples-only output (one row a line, columns separated by {@code |}).
   */
  public String query(String database, String sql) {
    List<String> command =
        new ArrayList<>(
            List.of(
                bin.resolve("psql").toString(),
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                socketDir.toString(),
                "-p",
                Integer.toString(port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql));
    return host.runAs(account, Duration.ofSeconds(30), command).orThrow().stdout();
  }

  public boolean isAlive() {
    return server != null && server.isAlive();
  }

  /** The server's log so far. */
  public String logText() {
    return server == null ? "" : server.logText();
  }

  /** Crashes the postmaster (SIGKILL), as a power cut of the database host would. */
  public void kill9() {
    server.kill9();
  }

  /**
   * An immediate shutdown (SIGQUIT): every process of the server quits at once without a
   * checkpoint, as in a crash; the next {@link #restart()} recovers from the write-ahead log.
   * Unlike {@link #kill9()} no backend outlives the postmaster.
   */
  public void crash() {
    server.stop("QUIT", Duration.ofSeconds(30));
  }

  /**
   * Starts the server again on its data, with the settings it had; after a {@link #crash()} it
   * first recovers. Returns once it accepts connections.
   */
  public void restart() {
    if (server != null && server.isAlive()) {
      throw new IllegalStateException("PostgreSQL on " + host.name() + " still runs");
    }
    startServer(settings);
  }

  /**
   * Throws this server's data away and makes it a new standby of {@code primary} on the same
   * machine and port ({@link #startStandby}), as after a failover the old primary rejoins.
   */
  public LabPostgres rebuildAsStandbyOf(LabPostgres primary) {
    if (server != null && server.isAlive()) {
      crash();
    }
    try (Stream<Path> files = Files.walk(host.dir())) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        if (p.startsWith(data) || p.startsWith(socketDir)) {
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return startStandby(host, primary);
  }

  /** A fast shutdown (SIGINT): open sessions are ended, then the server stops. */
  public void stop() {
    if (server != null) {
      server.stop("INT", Duration.ofSeconds(30));
    }
  }

  @Override
  public void close() {
    stop();
  }
}
