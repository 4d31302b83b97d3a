import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

/**
 * A PostgreSQL server for bench/failover.sh when the machine has no PostgreSQL server binaries of
 * its own: the embedded PostgreSQL that the distribution ships for {@code vigil start-dev}, run as
 * a source file on the distribution's classpath.
 *
 * <pre>
 * java -cp 'vigil-server/target/vigil/lib/*' bench/EmbeddedPg.java DATA_DIR PORT
 * </pre>
 *
 * <p>Starts the server on 127.0.0.1:PORT with a fresh data directory, creates the database {@code
 * vigil} (user {@code postgres}, no password), prints {@code READY jdbc:postgresql://…} and then
 * runs until its standard input closes or it gets SIGTERM, and stops the server either way. When
 * this process is killed with SIGKILL the server keeps running; its pid is the first line of
 * DATA_DIR/postmaster.pid. PostgreSQL refuses to run as root, so neither does this.
 */
public class EmbeddedPg {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: EmbeddedPg DATA_DIR PORT");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    EmbeddedPostgres pg =
        EmbeddedPostgres.builder()
            .setDataDirectory(dir)
            .setCleanDataDirectory(true)
            .setPort(port)
            .setServerConfig("listen_addresses", "127.0.0.1")
            .setRegisterShutdownHook(false)
            .start();
    Thread stop = new Thread(() -> close(pg), "embedded-pg-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    String base = "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/";
    try (Connection c = DriverManager.getConnection(base + "postgres", "postgres", null);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE vigil");
    }
    System.out.println("READY " + base + "vigil");
    System.out.flush();
    // Standard input closes when the script that started this process exits, even by SIGKILL.
    while (System.in.read() >= 0) {
      // nothing to read; only the end of input matters
    }
    System.exit(0);
  }

  private static void close(EmbeddedPostgres pg) {
    try {
      pg.close();
    } catch (IOException e) {
      System.err.println("stopping the embedded PostgreSQL failed: " + e.getMessage());
    }
  }
}
