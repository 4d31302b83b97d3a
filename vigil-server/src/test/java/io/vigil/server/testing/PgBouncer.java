package io.vigil.server.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PgBouncer on loopback in front of a PostgreSQL server, in the pooling mode the test asks
 * for. PgBouncer refuses to run as root, so as root it runs as {@code nobody}. Without PgBouncer
 * installed the test is skipped, except under {@code CI=true}, where it fails.
 */
public final class PgBouncer implements AutoCloseable {

  private static final Path BINARY = Path.of("/usr/sbin/pgbouncer");

  private final Path dir;
  private final Process process;
  private final int port;

  private PgBouncer(Path dir, Process process, int port) {
    this.dir = dir;
    this.process = process;
    this.port = port;
  }

  /** Starts PgBouncer in {@code mode} ("session" or "transaction") in front of {@code pgPort}. */
  public static PgBouncer start(String mode, int pgPort) {
    if (!Files.isExecutable(BINARY)) {
      String why = "PgBouncer is not installed (apt-get install pgbouncer)";
      if ("true".equals(System.getenv("CI"))) {
        throw new IllegalStateException(why);
      }
      Assumptions.abort(why);
    }
    try {
      Path dir = Files.createTempDirectory("vigil-pgbouncer");
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      Path users = dir.resolve("users.txt");
      Files.writeString(users, "\"postgres\" \"\"\n");
      Path ini = dir.resolve("pgbouncer.ini");
      Files.writeString(
          ini,
          String.join(
              "\n",
              "[databases]",
              "* = host=127.0.0.1 port=" + pgPort,
              "[pgbouncer]",
              "listen_addr = 127.0.0.1",
              "listen_port = " + port,
              "unix_socket_dir =",
              "auth_type = trust",
              "auth_file = " + users,
              "pool_mode = " + mode,
              "default_pool_size = 4",
              "max_client_conn = 50",
              "ignore_startup_parameters = extra_float_digits,options",
              ""));
      List<String> command = new ArrayList<>();
      if ("root".equals(System.getProperty("user.name"))) {
        command.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"));
      }
      command.add(BINARY.toString());
      command.add(ini.toString());
      Process p =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("pgbouncer.log").toFile())
              .start();
      PgBouncer bouncer = new PgBouncer(dir, p, port);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return bouncer;
        } catch (IOException notYet) {
          if (!p.isAlive() || System.nanoTime() > deadline) {
            String log = Files.readString(dir.resolve("pgbouncer.log"));
            bouncer.close();
            throw new IllegalStateException("PgBouncer did not start: " + log);
          }
          Thread.sleep(20);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A JDBC URL of {@code database} through PgBouncer. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?prepareThreshold=0";
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(5, TimeUnit.SECONDS);
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      }
      Files.deleteIfExists(dir);
    } catch (IOException | InterruptedException ignored) {
      // best effort
    }
  }
}
