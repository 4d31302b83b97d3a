package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vigil event list|post}: the site's events, through the HTTP API. */
@Command(
    name = "event",
    description = "List and post the site's events on a running node.",
    mixinStandardHelpOptions = true)
final class EventCommand implements Runnable {

  static final String EVENTS = "/api/v1/events";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use list or post.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new EventCommand())
        .addSubcommand(new ListEvents(terminal))
        .addSubcommand(new PostEvent(terminal));
  }

  /** {@code path} with the query parameters that have a value, encoded. */
  static String query(String path, Map<String, Object> params) {
    StringBuilder out = new StringBuilder(path);
    char sep = '?';
    for (Map.Entry<String, Object> p : params.entrySet()) {
      if (p.getValue() != null) {
        out.append(sep)
            .append(p.getKey())
            .append('=')
            .append(URLEncoder.encode(p.getValue().toString(), StandardCharsets.UTF_8));
        sep = '&';
      }
    }
    return out.toString();
  }

  @Command(
      name = "list",
      description = "List the newest events, newest first.",
      mixinStandardHelpOptions = true)
  static final class ListEvents extends RemoteCommand {
    @Option(names = "--type", paramLabel = "TYPE", description = "Only events of this type.")
    String type;

    @Option(
        names = "--source",
        paramLabel = "SOURCE",
        description = "Only events about this source (an id, external:<name> or node:<name>).")
    String source;

    @Option(
        names = "--limit",
        paramLabel = "N",
        defaultValue = "50",
        description = "At most this many events, 1 to 500 (default: ${DEFAULT-VALUE}).")
    int limit;

    ListEvents(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> params = new LinkedHashMap<>();
      params.put("type", type);
      params.put("source", source);
      params.put("limit", limit);
      JsonNode page = api.get(query(EVENTS, params));
      if (json) {
        printJson(page);
        return ExitCodes.OK;
      }
      Table table = new Table("ID", "TIME", "TYPE", "SEVERITY", "SOURCE", "MESSAGE");
      for (JsonNode e : page.path("items")) {
        table.row(
            text(e, "id"),
            UserCommand.instant(text(e, "receivedAt")),
            text(e, "type"),
            text(e, "severity"),
            text(e, "source"),
            text(e, "message"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "post",
      description = "Post one event, as a component or an operator would.",
      mixinStandardHelpOptions = true)
  static final class PostEvent extends RemoteCommand {
    @Option(
        names = "--type",
        required = true,
        paramLabel = "TYPE",
        description = "A dotted lower-case name such as door.forced.")
    String type;

    @Option(
        names = "--source",
        required = true,
        paramLabel = "SOURCE",
        description = "A registered server, hardware or camera id, or external:<name>.")
    String source;

    @Option(
        names = "--severity",
        paramLabel = "LEVEL",
        defaultValue = "info",
        description = "info, warning, error or critical (default: ${DEFAULT-VALUE}).")
    String severity;

    @Option(names = "--message", paramLabel = "TEXT", description = "What happened.")
    String message;

    PostEvent(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("type", type);
      body.put("source", source);
      body.put("severity", severity);
      if (message != null) {
        body.put("message", message);
      }
      JsonNode answer = api.call("POST", EVENTS, body);
      if (json) {
        printJson(answer);
        return ExitCodes.OK;
      }
      terminal.out().println("Posted event " + answer.path("ids").path(0).asText("?") + ".");
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }
}
