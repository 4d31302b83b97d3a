package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vigil monitor}: every server's system monitor state, worst first; {@code vigil monitor
 * history <server> --figure cpu}: one figure's history.
 */
@Command(
    name = "monitor",
    description = "Show the system monitor: every server's state and figures, worst first.",
    mixinStandardHelpOptions = true)
final class MonitorCommand extends RemoteCommand {

  static final String MONITOR = "/api/v1/monitor";

  MonitorCommand(Terminal terminal) {
    super(terminal);
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new MonitorCommand(terminal)).addSubcommand(new History(terminal));
  }

  @Override
  int run(ApiClient api) {
    JsonNode list = api.list(MONITOR);
    if (json) {
      printJson(list);
      return ExitCodes.OK;
    }
    Table table =
        new Table("NAME", "TYPE", "STATE", "CPU", "MEMORY", "DISK FREE", "STORAGE FREE", "ID");
    for (JsonNode s : list.path("items")) {
      table.row(
          text(s, "name"),
          text(s, "type"),
          text(s, "state"),
          figure(s, "cpu"),
          figure(s, "memory"),
          figure(s, "diskFree"),
          figure(s, "storageFree"),
          text(s, "serverId"));
    }
    terminal.out().print(table.render());
    terminal.out().flush();
    return ExitCodes.OK;
  }

  /** A figure as {@code 91.5 % warning}, or {@code -} before its first calculation. */
  static String figure(JsonNode server, String name) {
    for (JsonNode f : server.path("figures")) {
      if (name.equals(f.path("figure").asText())) {
        JsonNode value = f.path("value");
        if (!value.isNumber()) {
          return null;
        }
        String state = f.path("state").asText();
        return String.format(Locale.ROOT, "%.1f %%", value.asDouble())
            + ("normal".equals(state) ? "" : " " + state);
      }
    }
    return null;
  }

  @Command(
      name = "history",
      description = "Show one figure's history for a server (raw for a day, then coarser).",
      mixinStandardHelpOptions = true)
  static final class History extends RemoteCommand {
    @Parameters(index = "0", paramLabel = "SERVER", description = "The server's name or id.")
    String serverName;

    @Option(
        names = "--figure",
        paramLabel = "FIGURE",
        defaultValue = "cpu",
        description = "cpu, memory, diskFree or storageFree (default: cpu).")
    String figure;

    @Option(
        names = "--since",
        paramLabel = "TIME",
        description = "From this time, ISO-8601 with an offset (default: a day ago).")
    String since;

    @Option(
        names = "--until",
        paramLabel = "TIME",
        description = "Up to this time, ISO-8601 with an offset (default: now).")
    String until;

    History(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      String id = serverId(api, serverName);
      StringBuilder path = new StringBuilder(MONITOR + "/" + id + "/history?figure=" + enc(figure));
      if (since != null) {
        path.append("&since=").append(enc(since));
      }
      if (until != null) {
        path.append("&until=").append(enc(until));
      }
      JsonNode history = api.get(path.toString());
      if (json) {
        printJson(history);
        return ExitCodes.OK;
      }
      Table table = new Table("TIME", text(history, "figure").toUpperCase(Locale.ROOT), "SAMPLES");
      for (JsonNode p : history.path("points")) {
        table.row(
            UserCommand.instant(text(p, "at")),
            String.format(Locale.ROOT, "%.1f %%", p.path("value").asDouble()),
            text(p, "samples"));
      }
      terminal.out().print(table.render());
      terminal.out().println("Resolution: " + text(history, "resolution"));
      terminal.out().flush();
      return ExitCodes.OK;
    }

    /** The id of the server named {@code name} (regardless of case), or {@code name} as an id. */
    static String serverId(ApiClient api, String name) {
      try {
        return UUID.fromString(name).toString();
      } catch (IllegalArgumentException notAnId) {
        for (JsonNode s : api.list(ServerCommand.SERVERS).path("items")) {
          if (name.equalsIgnoreCase(text(s, "name"))) {
            return text(s, "id");
          }
        }
        throw new CliException(
            ExitCodes.NOT_FOUND,
            "not_found",
            "No server is named \"" + name + "\"; \"vigil server list\" shows them.");
      }
    }

    private static String enc(String s) {
      return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
  }
}
