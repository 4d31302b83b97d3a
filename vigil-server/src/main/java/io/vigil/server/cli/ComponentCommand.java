package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.client.ComponentRegistration;
import io.vigil.client.ServerType;
import io.vigil.client.VigilException;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil component}: the reference component ({@code run}), built on the SDK, and the
 * registration tokens components register with ({@code token create|list|revoke}).
 */
@Command(
    name = "component",
    description = "Run the reference component, or manage the tokens components register with.",
    mixinStandardHelpOptions = true)
final class ComponentCommand implements Runnable {

  static final String TOKENS = "/api/v1/registration-tokens";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use run or token.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new ComponentCommand())
        .addSubcommand(new Run(terminal))
        .addSubcommand(
            new CommandLine(new Token())
                .addSubcommand(new CreateToken(terminal))
                .addSubcommand(new ListTokens(terminal))
                .addSubcommand(new RevokeToken(terminal)));
  }

  /**
   * {@code vigil component run}: N simulated components in one process, sharing one HTTP client.
   * Runs until SIGTERM (or Ctrl-C), then stops every component cleanly.
   */
  @Command(
      name = "run",
      description =
          "Run the reference component: registers (once), heartbeats with simulated load, sends"
              + " motion events and follows its configuration, until stopped (SIGTERM, Ctrl-C).",
      mixinStandardHelpOptions = true)
  static final class Run implements Callable<Integer> {

    @Option(
        names = "--type",
        paramLabel = "TYPE",
        defaultValue = "recording-server",
        description = "The server type to register (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(
        names = "--name",
        paramLabel = "NAME",
        required = true,
        description = "The server's name; with --count N the instances are NAME-1 … NAME-N.")
    String name;

    @Option(
        names = "--server",
        paramLabel = "URL",
        description =
            "The management server: the cluster's address, or repeat it for every node (default:"
                + " VIGIL_SERVER, else "
                + RemoteCommand.DEFAULT_SERVER
                + ").")
    List<String> servers = new ArrayList<>();

    @Option(
        names = "--cameras",
        paramLabel = "N",
        defaultValue = "0",
        description = "Simulated cameras to add to each server (0-1000; default: 0).")
    int cameras;

    @Option(
        names = "--count",
        paramLabel = "N",
        defaultValue = "1",
        description = "How many components to run in this process (1-10000; default: 1).")
    int count;

    @Option(
        names = "--registration-token",
        paramLabel = "TOKEN",
        description =
            "Register with this one-time token (vigil component token create); repeat it, one per"
                + " component, with --count. Without it, VIGIL_PASSWORD and --user register as an"
                + " administrator.")
    List<String> registrationTokens = new ArrayList<>();

    @Option(
        names = "--user",
        paramLabel = "NAME",
        description =
            "With VIGIL_PASSWORD, register as this administrator (default: VIGIL_USER, else"
                + " admin).")
    String user;

    @Option(
        names = "--heartbeat-seconds",
        paramLabel = "S",
        defaultValue = "5",
        description = "Seconds between heartbeats (1-3600; default: ${DEFAULT-VALUE}).")
    int heartbeatSeconds;

    @Option(
        names = "--events-per-minute",
        paramLabel = "N",
        defaultValue = "12",
        description = "Motion events per minute per component (0-6000; default: ${DEFAULT-VALUE}).")
    double eventsPerMinute;

    @Option(
        names = "--address",
        paramLabel = "URL",
        defaultValue = "http://127.0.0.1:7563",
        description = "The address registered for the server (default: ${DEFAULT-VALUE}).")
    String address;

    @Option(
        names = "--state-dir",
        paramLabel = "DIR",
        description =
            "Where each component keeps its registration, owner-only (default:"
                + " ~/.local/share/vigil/components, %%LOCALAPPDATA%%\\Vigil\\components).")
    Path stateDir;

    @Option(
        names = "--ack-log",
        paramLabel = "FILE",
        description =
            "Append each acknowledged event as a line \"<server id> <idempotency key>\" (for"
                + " tests and benchmarks).")
    Path ackLog;

    @Option(
        names = "--failover-seconds",
        paramLabel = "S",
        defaultValue = "30",
        description = "How long one call keeps retrying through a failover (default: 30).")
    int failoverSeconds;

    @Option(
        names = "--cacert",
        paramLabel = "FILE",
        description = "Also trust the certificates in this PEM file (default: VIGIL_CACERT).")
    Path caCert;

    private final Terminal terminal;

    Run(Terminal terminal) {
      this.terminal = terminal;
    }

    @Override
    public Integer call() {
      check();
      List<String> urls = new ArrayList<>();
      if (servers.isEmpty()) {
        urls.add(RemoteCommand.serverUri(null, terminal).toString());
      } else {
        for (String s : servers) {
          urls.add(RemoteCommand.serverUri(s, terminal).toString());
        }
      }
      ServerTrust trust = RemoteCommand.trust(caCert, terminal);
      HttpClient http =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(3))
              .sslContext(trust.sslContext())
              .build();
      ComponentStates states =
          new ComponentStates(
              stateDir != null
                  ? stateDir
                  : ComponentStates.defaultDir(
                      terminal.env(),
                      System.getProperty("os.name"),
                      Path.of(System.getProperty("user.home"))));
      ComponentRegistration registration =
          ComponentRegistration.builder()
              .managementServer(urls.toArray(String[]::new))
              .httpClient(http)
              .failoverTime(Duration.ofSeconds(failoverSeconds))
              .build();
      String password = terminal.env().get("VIGIL_PASSWORD");
      String admin =
          RemoteCommand.firstNonBlank(
              user, terminal.env().get("VIGIL_USER"), RemoteCommand.DEFAULT_USER);
      ReferenceComponent.Options options =
          new ReferenceComponent.Options(
              urls,
              type,
              cameras,
              Duration.ofSeconds(heartbeatSeconds),
              eventsPerMinute,
              address,
              Duration.ofSeconds(failoverSeconds));
      ReferenceComponent.Output out = this::line;
      ReferenceComponent.Acknowledged acks = ackLog == null ? (id, keys) -> {} : this::acknowledge;
      List<ReferenceComponent> components = new ArrayList<>();
      for (int i = 1; i <= count; i++) {
        String instance = count == 1 ? name : name + "-" + i;
        String token = registrationTokens.size() >= i ? registrationTokens.get(i - 1) : null;
        ReferenceComponent.Registrar registrar =
            server -> {
              if (token != null) {
                return registration.withToken(token, server);
              }
              if (password == null || password.isEmpty()) {
                throw new VigilException(
                    0,
                    "no_registration",
                    "Component \""
                        + instance
                        + "\" has no stored registration and nothing to register with: give"
                        + " --registration-token (one per component), or set VIGIL_PASSWORD (and"
                        + " --user) to register as an administrator.");
              }
              return registration.withAdministrator(admin, password, server);
            };
        components.add(
            new ReferenceComponent(instance, options, http, states, registrar, out, acks));
      }
      CountDownLatch stopped = new CountDownLatch(1);
      Thread hook =
          new Thread(
              () -> {
                for (ReferenceComponent c : components) {
                  c.stop(Duration.ZERO);
                }
                for (ReferenceComponent c : components) {
                  c.stop(Duration.ofSeconds(5));
                }
                stopped.countDown();
                terminal.out().flush();
              },
              "vigil-component-stop");
      Runtime.getRuntime().addShutdownHook(hook);
      components.forEach(ReferenceComponent::start);
      try {
        // Until SIGTERM, or until every component stopped by itself (they all failed).
        while (!stopped.await(200, TimeUnit.MILLISECONDS)) {
          if (components.stream().noneMatch(ReferenceComponent::running)) {
            break;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (stopped.getCount() > 0) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is shutting down; the hook stops everything.
        }
        components.forEach(c -> c.stop(Duration.ofSeconds(5)));
      }
      http.close();
      List<VigilException> failures =
          components.stream().map(ReferenceComponent::failure).filter(f -> f != null).toList();
      if (failures.size() < components.size() || components.isEmpty()) {
        return ExitCodes.OK;
      }
      VigilException first = failures.getFirst();
      return "authentication_failed".equals(first.code())
              || "invalid_registration_token".equals(first.code())
              || "no_registration".equals(first.code())
              || first.status() == 401
          ? ExitCodes.AUTHENTICATION
          : first.status() == 409 ? ExitCodes.CONFLICT : ExitCodes.ERROR;
    }

    private void check() {
      if (ServerType.fromId(type).isEmpty()) {
        throw CliException.usage(
            "invalid_type",
            "--type " + type + " is unknown; use one of " + ServerType.allIds() + ".");
      }
      if (count < 1 || count > 10_000) {
        throw CliException.usage("invalid_count", "--count must be from 1 to 10000.");
      }
      if (cameras < 0 || cameras > 1000) {
        throw CliException.usage("invalid_cameras", "--cameras must be from 0 to 1000.");
      }
      if (heartbeatSeconds < 1 || heartbeatSeconds > 3600) {
        throw CliException.usage(
            "invalid_heartbeat", "--heartbeat-seconds must be from 1 to 3600.");
      }
      if (!(eventsPerMinute >= 0 && eventsPerMinute <= 6000)) {
        throw CliException.usage("invalid_rate", "--events-per-minute must be from 0 to 6000.");
      }
      if (failoverSeconds < 1 || failoverSeconds > 3600) {
        throw CliException.usage(
            "invalid_failover_time", "--failover-seconds must be from 1 to 3600.");
      }
      if (registrationTokens.size() > count) {
        throw CliException.usage(
            "too_many_tokens",
            "Give at most one --registration-token per component (" + count + ").");
      }
      if (name.isBlank()) {
        throw CliException.usage("invalid_name", "--name must not be blank.");
      }
    }

    private synchronized void line(String component, String text) {
      terminal
          .out()
          .println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " " + component + ": " + text);
      terminal.out().flush();
    }

    private synchronized void acknowledge(UUID serverId, List<String> keys) {
      StringBuilder b = new StringBuilder();
      keys.forEach(k -> b.append(serverId).append(' ').append(k).append('\n'));
      try {
        Files.writeString(
            ackLog,
            b,
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND,
            StandardOpenOption.WRITE);
      } catch (IOException e) {
        terminal.err().println("error: cannot append to " + ackLog + ": " + e.getMessage());
      }
    }
  }

  /** {@code vigil component token}: the one-time tokens components register with. */
  @Command(
      name = "token",
      description = "Create, list and revoke one-time registration tokens.",
      mixinStandardHelpOptions = true)
  static final class Token implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "Missing command: use create, list or revoke.");
    }
  }

  @Command(
      name = "create",
      description =
          "Create a one-time registration token; it is printed once, keep it for the component.",
      mixinStandardHelpOptions = true)
  static final class CreateToken extends RemoteCommand {
    @Option(
        names = "--expires-in",
        paramLabel = "SECONDS",
        description = "Lifetime in seconds, up to 604800 (7 days; default: 3600).")
    Integer expiresIn;

    @Option(
        names = "--type",
        paramLabel = "TYPE",
        description = "Let the token register only this server type.")
    String type;

    CreateToken(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> body = new LinkedHashMap<>();
      if (expiresIn != null) {
        body.put("expiresInSeconds", expiresIn);
      }
      if (type != null) {
        body.put("type", type);
      }
      JsonNode t = api.call("POST", TOKENS, body);
      if (json) {
        printJson(t);
      } else {
        terminal.out().println(text(t, "registrationToken"));
        terminal
            .err()
            .println(
                "Token "
                    + text(t, "id")
                    + " registers one "
                    + (text(t, "type") == null ? "component" : text(t, "type"))
                    + " until "
                    + text(t, "expiresAt")
                    + ". It is shown only now.");
      }
      terminal.out().flush();
      terminal.err().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "list",
      description = "List registration tokens (never the tokens themselves).",
      mixinStandardHelpOptions = true)
  static final class ListTokens extends RemoteCommand {
    ListTokens(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.list(TOKENS);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("ID", "STATUS", "TYPE", "EXPIRES", "CLIENT", "SERVER");
      for (JsonNode t : list.path("items")) {
        table.row(
            text(t, "id"),
            text(t, "status"),
            text(t, "type"),
            UserCommand.instant(text(t, "expiresAt")),
            text(t, "usedByClient"),
            text(t, "serverId"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "revoke",
      description = "Revoke a registration token: it registers nothing any more.",
      mixinStandardHelpOptions = true)
  static final class RevokeToken extends RemoteCommand {
    @Parameters(paramLabel = "ID", description = "The token's id (vigil component token list).")
    String id;

    RevokeToken(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      try {
        UUID.fromString(id);
      } catch (IllegalArgumentException e) {
        throw CliException.usage("invalid_id", "\"" + id + "\" is not a token id (a UUID).");
      }
      api.call("DELETE", TOKENS + "/" + id, null);
      terminal.out().println("Revoked registration token " + id + ".");
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }
}
