package io.vigil.server.cli;

import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.node.Node;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil node} and {@code vigil start-dev}: run a node in this process until SIGTERM or
 * SIGINT, when a shutdown hook closes it.
 *
 * <p>Start-up failures the operator must fix (configuration, database, data protection, a port in
 * use) end the command with one line and exit code 1, never a stack trace; see {@link
 * StartupFailure}.
 */
final class NodeCommand {

  private NodeCommand() {}

  /** Common flags of the two commands. */
  abstract static class Base implements Callable<Integer> {
    @Option(
        names = "--data-dir",
        paramLabel = "DIR",
        description = "Where the node keeps appsettings.json, its database and its files.")
    Path dataDir;

    @Option(
        names = "--http-port",
        paramLabel = "N",
        description = "HTTP port (0 for any free port); overrides Http.Port and VIGIL_HTTP_PORT.")
    Integer httpPort;

    final Terminal terminal;

    Base(Terminal terminal) {
      this.terminal = terminal;
    }

    /** Blocks until the JVM shuts down; returns 0 when the node was closed by the hook. */
    int runUntilStopped(Node node) throws InterruptedException {
      Runtime.getRuntime().addShutdownHook(new Thread(node::close, "vigil-shutdown"));
      node.awaitStop();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "node",
      description = "Run a node from its configuration until stopped (SIGTERM or Ctrl+C).",
      mixinStandardHelpOptions = true)
  static final class Run extends Base {
    Run(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() throws InterruptedException {
      Settings settings =
          SettingsLoader.load(
              defaultDataDir(terminal.env()),
              terminal.env(),
              new SettingsLoader.Overrides(dataDir, httpPort, null));
      requireTlsOrPlainChosen(settings);
      return runUntilStopped(StartupFailure.start(settings));
    }

    /**
     * Secure by default: a production node serves HTTPS, and plain HTTP only when the operator
     * chose it for a TLS-terminating proxy in front of the node.
     */
    static void requireTlsOrPlainChosen(Settings settings) {
      if (settings.http.tlsEnabled() || settings.http.allowPlainHttp) {
        return;
      }
      throw new CliException(
          ExitCodes.ERROR,
          "tls_required",
          "vigil node serves HTTPS and no certificate is configured: set Http.Tls.Thumbprint in "
              + settings.dataDir.resolve(SettingsLoader.FILE_NAME)
              + " (or VIGIL_TLS_THUMBPRINT) to the thumbprint of a certificate in the node's"
              + " certificate store (vigil protect list-certs shows them), or, when a proxy in"
              + " front of the node terminates TLS, allow plain HTTP with Http.AllowPlainHttp: true"
              + " (or VIGIL_HTTP_ALLOW_PLAIN=true). For development, vigil start-dev serves plain"
              + " HTTP on loopback.");
    }

    /**
     * {@code /var/lib/vigil} on Linux and other Unix systems, {@code %ProgramData%\Vigil} on
     * Windows; {@code VIGIL_DATA_DIR} and {@code --data-dir} take precedence (in the loader).
     */
    static Path defaultDataDir(Map<String, String> env) {
      if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")) {
        String programData = env.getOrDefault("ProgramData", "C:\\ProgramData");
        return Path.of(programData, "Vigil");
      }
      return Path.of("/var/lib/vigil");
    }

    /**
     * The node's data directory as a local command finds it: {@code given} (its {@code
     * --data-dir}), else {@code VIGIL_DATA_DIR}, else {@link #defaultDataDir}; absolute.
     */
    static Path dataDir(Path given, Map<String, String> env) {
      Path dir =
          given != null
              ? given
              : env.containsKey("VIGIL_DATA_DIR")
                  ? Path.of(env.get("VIGIL_DATA_DIR"))
                  : defaultDataDir(env);
      return dir.toAbsolutePath().normalize();
    }
  }

  @Command(
      name = "start-dev",
      description =
          "Run a development node: data in ./.vigil/dev, plain HTTP on 127.0.0.1:8080, embedded"
              + " H2.",
      mixinStandardHelpOptions = true)
  static final class StartDev extends Base {
    static final Path DEV_DATA_DIR = Path.of(".vigil", "dev");

    @Option(
        names = "--nodes",
        paramLabel = "N",
        description =
            "Run a development cluster of N node processes (2-9) on one PostgreSQL: the one"
                + " VIGIL_DB_URL names, else an embedded one. Data in ./.vigil/dev-cluster,"
                + " ports from 8081 (or --http-port; 0 for any free ports) up; the nodes' names,"
                + " URLs and PIDs in nodes.tsv there while it runs.")
    Integer nodes;

    @Option(
        names = "--restart-after",
        paramLabel = "SECONDS",
        description =
            "With --nodes: start a node that failed (any exit but code 0 or a stop by SIGTERM,"
                + " SIGINT, SIGHUP or SIGPIPE; e.g. kill -9) again after SECONDS (0-3600), like"
                + " systemd's Restart=on-failure. Default: a node that exits stays down.")
    Integer restartAfter;

    StartDev(Terminal terminal) {
      super(terminal);
    }

    @Override
    public Integer call() throws InterruptedException {
      if (nodes != null) {
        DevClusterCommand.checkNodeCount(nodes);
      }
      DevClusterCommand.checkRestartAfter(restartAfter, nodes);
      if (nodes != null && nodes > 1) {
        return DevClusterCommand.run(terminal, nodes, httpPort, dataDir, restartAfter);
      }
      Node node = StartupFailure.start(settings());
      terminal.out().println(readyLine(node));
      terminal.out().flush();
      return runUntilStopped(node);
    }

    /**
     * Development defaults under the usual overrides: data in ./.vigil/dev unless --data-dir or
     * VIGIL_DATA_DIR says otherwise, loopback only unless VIGIL_HTTP_HOST names an address, and
     * plain HTTP unless a certificate is configured (then HTTPS, as on a production node).
     */
    Settings settings() {
      Map<String, String> env = terminal.env();
      String host = env.containsKey("VIGIL_HTTP_HOST") ? null : "127.0.0.1";
      Settings settings =
          SettingsLoader.load(
              DEV_DATA_DIR, env, new SettingsLoader.Overrides(dataDir, httpPort, host));
      settings.http.allowPlainHttp = true;
      return settings;
    }

    static String readyLine(Node node) {
      Settings s = node.settings();
      String idp =
          s.identity.issuer != null && !s.identity.issuer.isBlank()
              ? s.issuer()
              : node.url() + "/idp";
      return "Vigil is ready at "
          + node.url()
          + " (data in "
          + s.dataDir
          + ", identity provider at "
          + idp
          + ")";
    }
  }
}
