package io.vigil.server.cli;

import io.vigil.server.config.ConfigException;
import io.vigil.server.http.Json;
import io.vigil.server.http.ServerTls;
import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil configure}: the server configurator of this machine. {@code show} reports the
 * management server address its Vigil components use, whether each is registered, the HTTPS
 * certificate and the data protection; {@code register} points every component at a new address and
 * registers it, inside the cluster's maintenance on a node; {@code encryption} chooses the node's
 * HTTPS certificate or turns HTTPS off. One instance runs at a time ({@link ConfigureLock}).
 *
 * <p>Exit codes (docs/operations.md): 0 done, 2 bad arguments, 3 authentication failed, 6 another
 * instance running, 7 management server unreachable, 8 invalid certificate, 1 anything else.
 */
@Command(
    name = "configure",
    description =
        "Point this machine's Vigil components at the management server (the cluster's address),"
            + " register them, and choose the node's HTTPS certificate.",
    mixinStandardHelpOptions = true,
    footer = {
      "",
      "Exit codes: 0 done, 1 error, 2 bad arguments, 3 authentication failed, 6 another"
          + " vigil configure is running, 7 management server unreachable, 8 invalid certificate."
    })
final class ConfigureCommand implements Runnable {

  /** Finds the Vigil components installed on this machine. */
  @FunctionalInterface
  interface Components {
    List<InstalledComponent> find(Path dataDir, Terminal terminal);
  }

  /** The components that exist today: the node in the data directory, if any, and the CLI. */
  static final Components INSTALLED =
      (dataDir, terminal) -> {
        List<InstalledComponent> found = new ArrayList<>();
        if (NodeComponent.installedIn(dataDir)) {
          found.add(new NodeComponent(dataDir));
        }
        found.add(new CliComponent(CliSettings.of(terminal.env())));
        return found;
      };

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use one of show, register, encryption.");
  }

  static CommandLine commandLine(Terminal terminal, Components components) {
    return new CommandLine(new ConfigureCommand())
        .addSubcommand(new Show(terminal, components))
        .addSubcommand(new Register(terminal, components))
        .addSubcommand(new Encryption(terminal, components));
  }

  /** Base of the verbs: the data directory, found as {@code vigil node} finds it. */
  abstract static class Base implements Callable<Integer> {
    @Option(
        names = "--data-dir",
        paramLabel = "DIR",
        description =
            "The node's data directory, if a node is installed here (default: VIGIL_DATA_DIR,"
                + " else the node's default).")
    Path dataDir;

    final Terminal terminal;
    final Components components;

    Base(Terminal terminal, Components components) {
      this.terminal = terminal;
      this.components = components;
    }

    Path dataDir() {
      return NodeCommand.Run.dataDir(dataDir, terminal.env());
    }

    /**
     * Where the configurator keeps its lock and its record: the node's data directory on a node,
     * else the user's Vigil configuration folder.
     */
    Path stateDir(List<InstalledComponent> found) {
      return found.stream().anyMatch(InstalledComponent::clusterNode)
          ? dataDir()
          : Credentials.of(terminal.env()).file().toAbsolutePath().getParent();
    }
  }

  // ---- show

  @Command(
      name = "show",
      description =
          "Show the management server address this machine's Vigil components use and whether"
              + " each is registered, the HTTPS certificate and the data protection settings.",
      mixinStandardHelpOptions = true)
  static final class Show extends Base {
    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    Show(Terminal terminal, Components components) {
      super(terminal, components);
    }

    @Override
    public Integer call() {
      List<InstalledComponent> found = components.find(dataDir(), terminal);
      ConfigureState state = new ConfigureState(stateDir(found));
      Instant now = Instant.now();
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("managementServer", address(found).orElse(null));
      List<Map<String, Object>> list = new ArrayList<>();
      for (InstalledComponent c : found) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", c.kind());
        m.put("configuration", c.location());
        m.put("address", c.address().orElse(null));
        m.put("registered", state.registered(c));
        m.put(
            "registeredAt",
            state.registration(c).map(r -> CertificateReport.seconds(r.at())).orElse(null));
        list.add(m);
      }
      report.put("components", list);
      boolean node = found.stream().anyMatch(InstalledComponent::clusterNode);
      if (node) {
        ProtectCommand.Configured configured = ProtectCommand.Configured.read(dataDir());
        CertificateStore store = CertificateStore.forPlatform(dataDir());
        report.put("https", https(configured, store, now));
        report.put("dataProtection", dataProtection(configured, store, now));
      }
      if (json) {
        print(report);
        return ExitCodes.OK;
      }
      PrintWriter out = terminal.out();
      out.println(
          "Management server address: "
              + address(found).orElse("not set (components use their own defaults)"));
      Table table = new Table("COMPONENT", "ADDRESS", "REGISTERED", "CONFIGURATION");
      for (Map<String, Object> m : list) {
        table.row(
            (String) m.get("kind"),
            m.get("address") == null ? "-" : (String) m.get("address"),
            Boolean.TRUE.equals(m.get("registered")) ? "yes, " + m.get("registeredAt") : "no",
            (String) m.get("configuration"));
      }
      out.print(table.render());
      if (node) {
        out.println("HTTPS: " + describe(report.get("https")));
        out.println("Data protection: " + describe(report.get("dataProtection")));
      } else {
        out.println(
            "No Vigil node in "
                + dataDir()
                + ": no HTTPS certificate or data protection to show (give --data-dir on a node).");
      }
      out.flush();
      return ExitCodes.OK;
    }

    /** The node's address when a node is installed, else the first component's. */
    private static Optional<String> address(List<InstalledComponent> found) {
      for (InstalledComponent c : found) {
        if (c.clusterNode() && c.address().isPresent()) {
          return c.address();
        }
      }
      return found.stream().flatMap(c -> c.address().stream()).findFirst();
    }

    private Map<String, Object> https(
        ProtectCommand.Configured configured, CertificateStore store, Instant now) {
      Map<String, Object> m = new LinkedHashMap<>();
      String env = terminal.env().get("VIGIL_TLS_THUMBPRINT");
      Optional<String> value =
          env != null && !env.isBlank() ? Optional.of(env.strip()) : configured.tls();
      if (value.isEmpty()) {
        boolean plain =
            AppSettingsFile.read(dataDir())
                    .bool(ProtectCommand.HTTP, "AllowPlainHttp")
                    .orElse(false)
                || "true".equalsIgnoreCase(terminal.env().get("VIGIL_HTTP_ALLOW_PLAIN"));
        m.put("enabled", false);
        m.put(
            "summary",
            plain
                ? "off: plain HTTP, for a proxy in front that terminates TLS (Http.AllowPlainHttp)"
                : "no certificate: vigil node refuses to start until one is chosen (vigil configure"
                    + " encryption --thumbprint T)");
        return m;
      }
      m.put("enabled", true);
      m.put("source", env != null && !env.isBlank() ? "VIGIL_TLS_THUMBPRINT" : "appsettings.json");
      certificate(m, value.get(), store, now, CertificateReport.Purpose.TLS);
      return m;
    }

    private Map<String, Object> dataProtection(
        ProtectCommand.Configured configured, CertificateStore store, Instant now) {
      Map<String, Object> m = new LinkedHashMap<>();
      if (configured.current().isEmpty()) {
        Path key = ProtectCommand.Status.machineKeyFile(terminal.env(), configured, dataDir());
        m.put("protector", "machine-key-file");
        m.put("machineKeyFile", key.toString());
        m.put("exists", Files.isRegularFile(key));
        m.put(
            "summary",
            "machine key file "
                + key
                + (Files.isRegularFile(key) ? "" : " (not created yet)")
                + "; a cluster on several machines protects keys with a certificate");
        return m;
      }
      m.put("protector", "certificate");
      m.put("olderThumbprints", configured.older());
      certificate(
          m, configured.current().get(), store, now, CertificateReport.Purpose.DATA_PROTECTION);
      return m;
    }

    private static void certificate(
        Map<String, Object> m,
        String text,
        CertificateStore store,
        Instant now,
        CertificateReport.Purpose purpose) {
      Optional<Thumbprint> t = ProtectCommand.parseQuietly(text);
      if (t.isEmpty()) {
        m.put("thumbprint", text);
        m.put("summary", "\"" + text + "\" is not a thumbprint");
        return;
      }
      Optional<StoredCertificate> stored = store.find(t.get());
      if (stored.isEmpty()) {
        m.put("thumbprint", t.get().hex());
        m.put("found", false);
        m.put("summary", "certificate " + t.get() + " is not in " + store.describe());
        return;
      }
      CertificateReport r = CertificateReport.of(store, stored.get(), now);
      m.put("found", true);
      m.putAll(r.json(now));
      List<String> problems =
          r.problems(purpose, now).stream().map(CertificateReport.Problem::message).toList();
      m.put("problems", problems);
      m.put(
          "summary",
          r.subject()
              + ", thumbprint "
              + r.thumbprint()
              + ", expires "
              + CertificateReport.seconds(r.notAfter())
              + " ("
              + r.daysLeftText(now)
              + ")"
              + (problems.isEmpty() ? "" : "; " + String.join("; ", problems)));
    }

    @SuppressWarnings("unchecked") // the maps built above
    private static String describe(Object section) {
      return String.valueOf(((Map<String, Object>) section).get("summary"));
    }

    private void print(Object value) {
      try {
        terminal
            .out()
            .println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value));
        terminal.out().flush();
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // ---- register

  @Command(
      name = "register",
      description =
          "Point every Vigil component on this machine at the management server address and"
              + " register it; on a node, inside the cluster's maintenance.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class Register extends Base {
    @Option(
        names = "--management-server",
        paramLabel = "URL",
        required = true,
        description = "The cluster's address, e.g. https://MyCluster (http or https).")
    String managementServer;

    @Option(
        names = "--quiet",
        description =
            "Ask nothing (a one-time code must come from VIGIL_OTP) and print only errors.")
    boolean quiet;

    @Option(
        names = "--user",
        paramLabel = "NAME",
        description =
            "With VIGIL_PASSWORD, sign in as this user (default: VIGIL_USER, else "
                + RemoteCommand.DEFAULT_USER
                + ").")
    String user;

    @Option(
        names = "--cacert",
        paramLabel = "FILE",
        description =
            "Also trust the certificates in this PEM file when verifying an https management"
                + " server (default: VIGIL_CACERT).")
    Path caCert;

    Register(Terminal terminal, Components components) {
      super(terminal, components);
    }

    @Override
    @SuppressWarnings("try") // the lock is held for the body, not used in it
    public Integer call() {
      URI url = managementServerUrl(managementServer);
      Terminal t =
          quiet
              ? new Terminal(
                  terminal.env(),
                  new PrintWriter(Writer.nullWriter()),
                  terminal.err(),
                  terminal.in(),
                  null)
              : terminal;
      List<InstalledComponent> found = components.find(dataDir(), terminal);
      ConfigureState state = new ConfigureState(stateDir(found));
      try (ConfigureLock lock = ConfigureLock.acquire(stateDir(found))) {
        ApiClient api =
            new ApiClient(
                url,
                RemoteCommand.trust(caCert, terminal),
                RemoteCommand.credential(t, user, url, false));
        try {
          // Reachable and signed in before anything changes.
          api.get(ClusterCommand.CLUSTER);
          Runnable change = () -> change(t, url, api, found, state);
          if (found.stream().anyMatch(InstalledComponent::clusterNode)) {
            new MaintenanceWindow(
                    maintenance(api),
                    line -> say(t, line),
                    line -> {
                      terminal.err().println("warning: " + line);
                      terminal.err().flush();
                    },
                    MaintenanceWindow.ExitHooks.RUNTIME)
                .around(
                    () -> {
                      change.run();
                      return null;
                    });
          } else {
            change.run();
          }
        } catch (CliException e) {
          throw unreachable(e);
        }
      }
      return ExitCodes.OK;
    }

    private static void change(
        Terminal t, URI url, ApiClient api, List<InstalledComponent> found, ConfigureState state) {
      String address = Credentials.key(url);
      for (InstalledComponent c : found) {
        c.setAddress(url);
        c.register(url, api);
        state.recordRegistered(c, address, Instant.now());
        say(t, "Registered " + c.kind() + " (" + c.location() + ") with " + address + ".");
        c.afterChange().ifPresent(next -> say(t, "Next, for " + c.kind() + ": " + next + "."));
      }
    }

    private static MaintenanceWindow.Switch maintenance(ApiClient api) {
      return new MaintenanceWindow.Switch() {
        @Override
        public boolean on() {
          return api.get(ClusterCommand.CLUSTER).path("maintenance").asBoolean();
        }

        @Override
        public void set(boolean on) {
          api.call("PUT", ClusterCommand.CLUSTER + "/maintenance", Map.of("enabled", on));
        }
      };
    }

    private static void say(Terminal t, String line) {
      t.out().println(line);
      t.out().flush();
    }
  }

  /**
   * The failures that mean the management server cannot be reached (no connection, no answer, a
   * certificate that fails verification) get exit code {@link ExitCodes#UNREACHABLE}; others are
   * kept.
   */
  static CliException unreachable(CliException e) {
    String code = e.code() == null ? "" : e.code();
    boolean unreachable =
        code.equals("unreachable") || code.equals("timeout") || code.startsWith("tls_");
    return unreachable && e.exitCode() != ExitCodes.UNREACHABLE
        ? withSuppressed(new CliException(ExitCodes.UNREACHABLE, e.code(), e.getMessage()), e)
        : e;
  }

  private static CliException withSuppressed(CliException to, CliException from) {
    for (Throwable s : from.getSuppressed()) {
      to.addSuppressed(s);
    }
    return to;
  }

  /** {@code --management-server}: an absolute http or https URL with a host, nothing else. */
  static URI managementServerUrl(String value) {
    String text = value == null ? "" : value.strip();
    try {
      URI uri = new URI(text);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https"))
          && uri.getHost() != null
          && uri.getRawUserInfo() == null
          && uri.getRawQuery() == null
          && uri.getRawFragment() == null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // Reported below with the expected form.
    }
    throw CliException.usage(
        "invalid_management_server",
        "\""
            + text
            + "\" is not a management server address: give --management-server as the cluster's"
            + " URL, http://HOST[:PORT] or https://HOST[:PORT], e.g. https://MyCluster (no user,"
            + " query or fragment).");
  }

  // ---- encryption

  @Command(
      name = "encryption",
      description =
          "Serve HTTPS with a certificate of the personal store, chosen by thumbprint, or turn"
              + " HTTPS off for a node behind a TLS-terminating proxy.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class Encryption extends Base {

    static final class Choice {
      @Option(
          names = "--thumbprint",
          paramLabel = "T",
          required = true,
          description = "The certificate's SHA-1 thumbprint (vigil protect list-certs shows it).")
      String thumbprint;

      @Option(
          names = "--disable",
          required = true,
          description =
              "Serve plain HTTP (Http.AllowPlainHttp), for a node behind a proxy that terminates"
                  + " TLS.")
      boolean disable;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Choice choice;

    Encryption(Terminal terminal, Components components) {
      super(terminal, components);
    }

    @Override
    @SuppressWarnings("try") // the lock is held for the body, not used in it
    public Integer call() {
      Optional<Thumbprint> thumbprint = Optional.empty();
      if (!choice.disable) {
        try {
          thumbprint = Optional.of(Thumbprint.parse(choice.thumbprint));
        } catch (IllegalArgumentException e) {
          throw CliException.usage("invalid_thumbprint", e.getMessage());
        }
      }
      Path dir = dataDir();
      if (!NodeComponent.installedIn(dir)) {
        throw new CliException(
            ExitCodes.NOT_FOUND,
            "no_node",
            "No Vigil node in "
                + dir
                + " (no appsettings.json, database or certificate store): give the node's data"
                + " directory with --data-dir (or VIGIL_DATA_DIR).");
      }
      try (ConfigureLock lock = ConfigureLock.acquire(dir)) {
        AppSettingsFile settings = AppSettingsFile.read(dir);
        if (thumbprint.isPresent()) {
          use(dir, settings, thumbprint.get());
        } else {
          disable(settings);
        }
      }
      return ExitCodes.OK;
    }

    private void use(Path dir, AppSettingsFile settings, Thumbprint t) {
      try {
        ServerTls.check(CertificateStore.forPlatform(dir), t, Instant.now());
      } catch (ConfigException e) {
        throw new CliException(
            ExitCodes.INVALID_CERTIFICATE,
            "invalid_certificate",
            e.getMessage() + " Nothing was changed.");
      }
      boolean hadOne =
          settings
              .text(ProtectCommand.HTTP, ProtectCommand.TLS, ProtectCommand.THUMBPRINT)
              .flatMap(ProtectCommand::parseQuietly)
              .isPresent();
      settings.put(
          settings.object(ProtectCommand.HTTP, ProtectCommand.TLS),
          ProtectCommand.THUMBPRINT,
          t.hex());
      settings.save();
      terminal
          .out()
          .println(
              "HTTPS: set "
                  + ProtectCommand.TLS_THUMBPRINT
                  + " to "
                  + t
                  + " in "
                  + settings.file()
                  + ". "
                  + (hadOne
                      ? "A running node serves it to new connections within 5 seconds."
                      : "Restart the node: it serves HTTPS with it from its next start."));
      terminal.out().flush();
    }

    private void disable(AppSettingsFile settings) {
      settings.putNull(
          settings.object(ProtectCommand.HTTP, ProtectCommand.TLS), ProtectCommand.THUMBPRINT);
      settings.put(settings.object(ProtectCommand.HTTP), "AllowPlainHttp", true);
      settings.save();
      terminal
          .out()
          .println(
              "HTTPS off: cleared "
                  + ProtectCommand.TLS_THUMBPRINT
                  + " and set Http.AllowPlainHttp in "
                  + settings.file()
                  + ". Restart the node; put it behind a proxy that terminates TLS, since"
                  + " passwords and tokens would otherwise cross the network in clear.");
      terminal.out().flush();
    }
  }
}
