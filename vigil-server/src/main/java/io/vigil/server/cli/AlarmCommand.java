package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil alarm list|show|set|comment|definitions}: the site's alarms and alarm definitions,
 * through the HTTP API.
 */
@Command(
    name = "alarm",
    description = "List, show and handle the site's alarms on a running node.",
    mixinStandardHelpOptions = true)
final class AlarmCommand implements Runnable {

  static final String ALARMS = "/api/v1/alarms";
  static final String DEFINITIONS = "/api/v1/alarm-definitions";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use list, show, set, comment or definitions.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new AlarmCommand())
        .addSubcommand(new ListAlarms(terminal))
        .addSubcommand(new ShowAlarm(terminal))
        .addSubcommand(new SetAlarm(terminal))
        .addSubcommand(new CommentAlarm(terminal))
        .addSubcommand(new ListDefinitions(terminal));
  }

  /** An alarm's path; the id is checked here so that a path is never built from text. */
  static String alarmPath(String id) {
    if (!id.matches("[1-9][0-9]{0,17}")) {
      throw new CliException(
          ExitCodes.USAGE, "invalid_id", "\"" + id + "\" is no alarm id: alarm ids are numbers.");
    }
    return ALARMS + "/" + id;
  }

  static void printAlarm(Terminal terminal, JsonNode a) {
    Table table = new Table("FIELD", "VALUE");
    for (String f :
        new String[] {
          "id",
          "state",
          "priority",
          "source",
          "count",
          "owner",
          "category",
          "definitionId",
          "raisedAt",
          "lastEventAt",
          "actionDueAt"
        }) {
      table.row(f, text(a, f));
    }
    terminal.out().print(table.render());
    JsonNode activity = a.path("activity");
    if (activity.isArray() && !activity.isEmpty()) {
      terminal.out().println();
      Table log = new Table("AT", "WHO", "ACTION", "DETAIL");
      for (JsonNode e : activity) {
        log.row(
            UserCommand.instant(text(e, "at")),
            text(e, "actor"),
            text(e, "action"),
            text(e, "detail"));
      }
      terminal.out().print(log.render());
    }
    terminal.out().flush();
  }

  private static String text(JsonNode node, String field) {
    return RemoteCommand.text(node, field);
  }

  @Command(
      name = "list",
      description = "List alarms, highest priority first and newest first within a priority.",
      mixinStandardHelpOptions = true)
  static final class ListAlarms extends RemoteCommand {
    @Option(
        names = "--state",
        paramLabel = "STATE",
        description = "Only alarms in this state: new, in_progress, on_hold or closed.")
    String state;

    @Option(names = "--source", paramLabel = "SOURCE", description = "Only alarms of this source.")
    String source;

    @Option(
        names = "--limit",
        paramLabel = "N",
        defaultValue = "100",
        description = "At most this many alarms, 1 to 500 (default: ${DEFAULT-VALUE}).")
    int limit;

    ListAlarms(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> params = new LinkedHashMap<>();
      params.put("state", state);
      params.put("source", source);
      params.put("limit", limit);
      JsonNode page = api.get(EventCommand.query(ALARMS, params));
      if (json) {
        printJson(page);
        return ExitCodes.OK;
      }
      Table table =
          new Table("ID", "PRIORITY", "STATE", "SOURCE", "COUNT", "OWNER", "RAISED", "CATEGORY");
      for (JsonNode a : page.path("items")) {
        table.row(
            text(a, "id"),
            text(a, "priority"),
            text(a, "state"),
            text(a, "source"),
            text(a, "count"),
            text(a, "owner"),
            UserCommand.instant(text(a, "raisedAt")),
            text(a, "category"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "show",
      description = "Show an alarm with its activity log.",
      mixinStandardHelpOptions = true)
  static final class ShowAlarm extends RemoteCommand {
    @Parameters(paramLabel = "ID", description = "The alarm's id.")
    String id;

    ShowAlarm(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode a = api.get(alarmPath(id));
      if (json) {
        printJson(a);
        return ExitCodes.OK;
      }
      printAlarm(terminal, a);
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "set",
      description =
          "Change an alarm's state or owner. The change applies to the revision read just before"
              + " it; if someone changed the alarm in between, it fails with exit code 5.",
      mixinStandardHelpOptions = true)
  static final class SetAlarm extends RemoteCommand {
    @Parameters(paramLabel = "ID", description = "The alarm's id.")
    String id;

    @Option(
        names = "--state",
        paramLabel = "STATE",
        description = "new, in_progress, on_hold or closed.")
    String state;

    @Option(
        names = "--owner",
        paramLabel = "USER",
        description = "The user name to assign it to; \"\" unassigns.")
    String owner;

    SetAlarm(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      if (state == null && owner == null) {
        throw new CliException(
            ExitCodes.USAGE, "nothing_to_change", "Give --state, --owner or both.");
      }
      String path = alarmPath(id);
      JsonNode current = api.get(path);
      Map<String, Object> change = new LinkedHashMap<>();
      if (state != null) {
        change.put("state", state);
      }
      if (owner != null) {
        change.put("owner", owner);
      }
      String etag = "\"" + current.path("revision").asLong() + "\"";
      JsonNode a = api.call("PATCH", path, change, etag);
      if (json) {
        printJson(a);
        return ExitCodes.OK;
      }
      terminal
          .out()
          .println(
              "Alarm "
                  + text(a, "id")
                  + " is "
                  + text(a, "state")
                  + (a.path("owner").isTextual() ? ", owned by " + text(a, "owner") : "")
                  + ".");
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "comment",
      description = "Add a comment to an alarm.",
      mixinStandardHelpOptions = true)
  static final class CommentAlarm extends RemoteCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The alarm's id.")
    String id;

    @Parameters(index = "1", paramLabel = "TEXT", description = "The comment.")
    String text;

    CommentAlarm(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode a = api.call("POST", alarmPath(id) + "/comments", Map.of("text", text));
      if (json) {
        printJson(a);
        return ExitCodes.OK;
      }
      terminal.out().println("Commented on alarm " + text(a, "id") + ".");
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "definitions",
      description = "List the alarm definitions.",
      mixinStandardHelpOptions = true)
  static final class ListDefinitions extends RemoteCommand {
    ListDefinitions(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.get(DEFINITIONS);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("NAME", "ENABLED", "PRIORITY", "EVENT TYPES", "ACTIVE WHEN", "ID");
      for (JsonNode d : list.path("items")) {
        table.row(
            text(d, "name"),
            text(d, "enabled"),
            text(d, "priority"),
            String.join(",", strings(d.path("eventTypes"))),
            d.path("activeWhen").isObject() ? "profile" : "always",
            text(d, "id"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }

    private static java.util.List<String> strings(JsonNode array) {
      java.util.List<String> out = new java.util.ArrayList<>();
      array.forEach(n -> out.add(n.asText()));
      return out;
    }
  }
}
