package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.cluster.ClusterRoutes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil cluster …}: the cluster of a running node, through {@code /api/v1/cluster}. Any node
 * answers, owner or not. Changes are requests that the owner carries out within a few seconds, so
 * each command says what was asked and points at {@code vigil cluster status} to watch it happen.
 */
@Command(
    name = "cluster",
    description = "See and steer the cluster of a running node: role, nodes, resources.",
    mixinStandardHelpOptions = true)
final class ClusterCommand implements Runnable {

  static final String CLUSTER = "/api/v1/cluster";
  static final String RESOURCES = CLUSTER + "/resources";
  private static final String WATCH = " Watch it with \"vigil cluster status\".";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "Missing command: use one of status, history, validate, maintenance, move, node, resource, reset.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new ClusterCommand())
        .addSubcommand(new Status(terminal))
        .addSubcommand(new History(terminal))
        .addSubcommand(new Validate(terminal))
        .addSubcommand(new Maintenance(terminal))
        .addSubcommand(new Move(terminal))
        .addSubcommand(
            new CommandLine(new NodeGroup())
                .addSubcommand(new PauseNode(terminal))
                .addSubcommand(new ResumeNode(terminal))
                .addSubcommand(new DrainNode(terminal)))
        .addSubcommand(
            new CommandLine(new ResourceGroup())
                .addSubcommand(new AddResource(terminal))
                .addSubcommand(new RemoveResource(terminal))
                .addSubcommand(new StartResource(terminal))
                .addSubcommand(new StopResource(terminal))
                .addSubcommand(new ListResources(terminal)))
        .addSubcommand(new Reset(terminal));
  }

  // ---- reading

  @Command(
      name = "status",
      description =
          "Show the role's owner, epoch, maintenance and failure, every node and every resource.",
      mixinStandardHelpOptions = true)
  static final class Status extends RemoteCommand {
    Status(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode status = api.get(CLUSTER);
      if (json) {
        printJson(status);
        return ExitCodes.OK;
      }
      StringBuilder sb = new StringBuilder();
      String owner = text(status, "owner");
      String ownerUrl = text(status, "ownerUrl");
      field(sb, "Role", text(status, "role"));
      field(
          sb,
          "Owner",
          owner == null ? "none" : owner + (ownerUrl == null ? "" : " (" + ownerUrl + ")"));
      field(sb, "Epoch", text(status, "epoch"));
      field(sb, "Since", UserCommand.instant(text(status, "ownerSince")));
      field(sb, "Maintenance", status.path("maintenance").asBoolean() ? "on" : "off");
      String reason = text(status, "failedReason");
      field(
          sb,
          "Failed",
          status.path("failed").asBoolean() ? "yes" + (reason == null ? "" : ": " + reason) : "no");
      String move = text(status, "moveRequestedTo");
      if (move != null) {
        field(sb, "Move", "requested to " + ("*".equals(move) ? "any other node" : move));
      }

      Table nodes = new Table("NAME", "STATE", "URL", "LAST HEARTBEAT");
      for (JsonNode n : status.path("nodes")) {
        nodes.row(
            text(n, "name"),
            text(n, "state"),
            text(n, "url"),
            UserCommand.instant(text(n, "lastHeartbeat")));
      }
      sb.append("\nNODES\n").append(nodes.render());

      Table resources = new Table("NAME", "STATE", "NODE", "SINCE", "DEPENDS ON", "LAST PROBLEM");
      for (JsonNode r : status.path("resources")) {
        resources.row(
            text(r, "name"),
            text(r, "state"),
            text(r, "node"),
            UserCommand.instant(text(r, "since")),
            names(r.path("dependsOn")),
            text(r, "lastProblem"));
      }
      sb.append("\nRESOURCES\n").append(resources.render());
      terminal.out().print(sb);
      terminal.out().flush();
      return ExitCodes.OK;
    }

    private static void field(StringBuilder sb, String label, String value) {
      sb.append(String.format(Locale.ROOT, "%-13s%s\n", label + ":", value == null ? "-" : value));
    }
  }

  @Command(
      name = "history",
      description = "Show the recent transitions of the role and why each happened, newest first.",
      mixinStandardHelpOptions = true)
  static final class History extends RemoteCommand {
    @Option(
        names = "--limit",
        paramLabel = "N",
        description = "How many entries to show, 1 to 500 (default: 50).")
    Integer limit;

    History(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode history = api.get(CLUSTER + "/history" + (limit == null ? "" : "?limit=" + limit));
      if (json) {
        printJson(history);
        return ExitCodes.OK;
      }
      Table table = new Table("AT", "NODE", "EVENT", "REASON");
      for (JsonNode h : history.path("items")) {
        table.row(
            UserCommand.instant(text(h, "at")),
            text(h, "node"),
            text(h, "event"),
            text(h, "reason"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "validate",
      description = {
        "Show, for every node, whether it could take the role and what a failover to it would"
            + " break (data protection keys it cannot unwrap, certificate problems), before anyone"
            + " fails over.",
        "Exits 0 only when every live node can take the role."
      },
      mixinStandardHelpOptions = true)
  static final class Validate extends RemoteCommand {
    Validate(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode result = api.get(CLUSTER + "/validation");
      boolean allCan = true;
      for (JsonNode n : result.path("items")) {
        if (n.path("up").asBoolean() && !n.path("eligible").asBoolean()) {
          allCan = false;
        }
      }
      if (json) {
        printJson(result);
        return allCan ? ExitCodes.OK : ExitCodes.ERROR;
      }
      Table table =
          new Table("NODE", "STATE", "CAN TAKE ROLE", "PROTECTOR", "KEYS", "CHECKED", "PROBLEM");
      StringBuilder details = new StringBuilder();
      for (JsonNode n : result.path("items")) {
        JsonNode report = n.path("report");
        boolean up = n.path("up").asBoolean();
        table.row(
            text(n, "node"),
            text(n, "state"),
            !up ? "down" : n.path("eligible").asBoolean() ? "yes" : "NO",
            text(report, "protector"),
            report.isMissingNode() || report.isNull()
                ? "-"
                : report.path("keysUnwrappable").asInt() + "/" + report.path("keys").asInt(),
            UserCommand.instant(text(n, "checkedAt")),
            text(n, "problem") == null ? "-" : text(n, "problem"));
        for (JsonNode c : report.path("certificates")) {
          details
              .append(text(n, "node"))
              .append(": ")
              .append(text(c, "use"))
              .append(" certificate ")
              .append(text(c, "thumbprint"))
              .append(
                  c.path("found").asBoolean()
                      ? " "
                          + text(c, "subject")
                          + ", "
                          + c.path("daysLeft").asLong()
                          + " days left, "
                          + (c.path("trusted").asBoolean() ? "trusted" : "NOT trusted")
                          + ", private key "
                          + (c.path("privateKeyReadable").asBoolean() ? "readable" : "NOT readable")
                      : " not in the store")
              .append('\n');
        }
        for (JsonNode b : n.path("failoverWouldBreak")) {
          details
              .append(text(n, "node"))
              .append(": a failover here would break: ")
              .append(b.asText())
              .append('\n');
        }
        for (JsonNode w : n.path("warnings")) {
          details.append(text(n, "node")).append(": warning: ").append(w.asText()).append('\n');
        }
      }
      terminal.out().print(table.render());
      if (!details.isEmpty()) {
        terminal.out().print("\n" + details);
      }
      terminal
          .out()
          .println(
              allCan
                  ? "\nEvery live node can take the role."
                  : "\nNot every live node can take the role: fix the problems above before a"
                      + " failover or move.");
      terminal.out().flush();
      return allCan ? ExitCodes.OK : ExitCodes.ERROR;
    }
  }

  // ---- the role

  /** A command that asks for a change and reports the request, or the server's JSON. */
  abstract static class Change extends RemoteCommand {
    Change(Terminal terminal) {
      super(terminal);
    }

    /** Prints {@code message}, or with {@code --json} the server's answer when it sent one. */
    int report(JsonNode response, String message) {
      if (json) {
        if (!response.isMissingNode()) {
          printJson(response);
        }
      } else {
        terminal.out().println(message);
        terminal.out().flush();
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "maintenance",
      description =
          "Pause (on) or resume (off) monitoring and automatic failover of the role; the owner"
              + " keeps the role and its resources keep running.",
      mixinStandardHelpOptions = true)
  static final class Maintenance extends Change {
    @Parameters(
        paramLabel = "on|off",
        converter = OnOff.class,
        description = "on to pause control and monitoring, off to resume it.")
    String state;

    Maintenance(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      boolean enabled = state.equals("on");
      JsonNode response = api.call("PUT", CLUSTER + "/maintenance", Map.of("enabled", enabled));
      return report(
          response,
          enabled
              ? "Maintenance on: the role is no longer monitored and does not fail over; its"
                  + " resources can be stopped and started by hand. Turn it off with \"vigil"
                  + " cluster maintenance off\"."
              : "Maintenance off: the role is monitored again and fails over by policy.");
    }
  }

  @Command(
      name = "move",
      description =
          "Hand the role to another node with a graceful stop: to the one named, or to the most"
              + " preferred other node.",
      mixinStandardHelpOptions = true)
  static final class Move extends Change {
    @Option(
        names = "--to",
        paramLabel = "NODE",
        description = "The node to take the role (default: the most preferred other node).")
    String to;

    Move(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> body = new LinkedHashMap<>();
      if (to != null) {
        body.put("to", requireNodeName(to));
      }
      JsonNode response = api.call("POST", CLUSTER + "/move", body);
      return report(
          response,
          "Asked to move the role to "
              + (to == null ? "the most preferred other node" : to)
              + "."
              + WATCH);
    }
  }

  @Command(
      name = "reset",
      description =
          "Clear a failed role so that a node takes it again, and restart its failover count.",
      mixinStandardHelpOptions = true)
  static final class Reset extends Change {
    Reset(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      return report(
          api.call("POST", CLUSTER + "/reset", null),
          "Cleared the failed state of the role; a node takes it again." + WATCH);
    }
  }

  // ---- nodes

  @Command(
      name = "node",
      description = "Pause, resume or drain a node.",
      mixinStandardHelpOptions = true)
  static final class NodeGroup implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "Missing command: use one of pause, resume, drain.");
    }
  }

  /** {@code vigil cluster node ACTION NAME}: one request to {@code /nodes/NAME/ACTION}. */
  abstract static class NodeAction extends Change {
    @Parameters(
        paramLabel = "NAME",
        description = "The node, as \"vigil cluster status\" names it.")
    String node;

    NodeAction(Terminal terminal) {
      super(terminal);
    }

    abstract String action();

    abstract String message();

    @Override
    int run(ApiClient api) {
      String name = requireNodeName(node);
      return report(
          api.call("POST", CLUSTER + "/nodes/" + name + "/" + action(), null), message() + WATCH);
    }
  }

  @Command(
      name = "pause",
      description = "Stop a node from taking the role; a role it holds stays until moved.",
      mixinStandardHelpOptions = true)
  static final class PauseNode extends NodeAction {
    PauseNode(Terminal terminal) {
      super(terminal);
    }

    @Override
    String action() {
      return "pause";
    }

    @Override
    String message() {
      return "Asked to pause node " + node + ": it takes no role until resumed.";
    }
  }

  @Command(
      name = "resume",
      description = "Let a paused or drained node take the role again.",
      mixinStandardHelpOptions = true)
  static final class ResumeNode extends NodeAction {
    ResumeNode(Terminal terminal) {
      super(terminal);
    }

    @Override
    String action() {
      return "resume";
    }

    @Override
    String message() {
      return "Asked to resume node " + node + ": it can take the role again.";
    }
  }

  @Command(
      name = "drain",
      description = "Move the role away from a node, then pause it.",
      mixinStandardHelpOptions = true)
  static final class DrainNode extends NodeAction {
    DrainNode(Terminal terminal) {
      super(terminal);
    }

    @Override
    String action() {
      return "drain";
    }

    @Override
    String message() {
      return "Asked to drain node " + node + ": its role moves away, then it is paused.";
    }
  }

  // ---- resources

  @Command(
      name = "resource",
      description = "List, add, remove, start or stop the role's resources.",
      mixinStandardHelpOptions = true)
  static final class ResourceGroup implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "Missing command: use one of list, add, remove, start, stop.");
    }
  }

  @Command(
      name = "list",
      description = "List the role's resources and their state.",
      mixinStandardHelpOptions = true)
  static final class ListResources extends RemoteCommand {
    ListResources(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.list(RESOURCES);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table =
          new Table("NAME", "KIND", "STATE", "NODE", "SINCE", "DEPENDS ON", "LAST PROBLEM");
      for (JsonNode r : list.path("items")) {
        table.row(
            text(r, "name"),
            text(r, "kind"),
            text(r, "state"),
            text(r, "node"),
            UserCommand.instant(text(r, "since")),
            names(r.path("dependsOn")),
            text(r, "lastProblem"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "add",
      description =
          "Add a generic resource to the role: shell commands that start, stop and check it.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class AddResource extends Change {
    @Parameters(
        paramLabel = "NAME",
        description = "The resource's name: lower-case letters, digits and hyphens.")
    String name;

    @Option(
        names = "--start",
        required = true,
        paramLabel = "CMD",
        description = "Shell command that starts it and exits 0 once it runs.")
    String start;

    @Option(
        names = "--stop",
        required = true,
        paramLabel = "CMD",
        description = "Shell command that stops it and exits 0, also when it is not running.")
    String stop;

    @Option(
        names = "--check",
        paramLabel = "CMD",
        description = "Shell command that exits 0 when it is healthy (default: no health check).")
    String check;

    @Option(
        names = "--depends-on",
        paramLabel = "RESOURCE",
        description = "A resource that must run first; repeat for several.")
    List<String> dependsOn = new ArrayList<>();

    @Option(
        names = "--check-interval",
        paramLabel = "DURATION",
        converter = Millis.class,
        description = "Time between health checks, e.g. 2s (default: 2s).")
    Long checkInterval;

    @Option(
        names = "--check-timeout",
        paramLabel = "DURATION",
        converter = Millis.class,
        description = "A check that has not answered by then failed (default: 2s).")
    Long checkTimeout;

    @Option(
        names = "--restart-limit",
        paramLabel = "N",
        description =
            "Restarts in place within the restart period before the role fails over (default:"
                + " 3).")
    Integer restartLimit;

    @Option(
        names = "--restart-period",
        paramLabel = "DURATION",
        converter = Millis.class,
        description = "The window over which restarts are counted (default: 10m).")
    Long restartPeriod;

    @Option(
        names = "--start-timeout",
        paramLabel = "DURATION",
        converter = Millis.class,
        description = "A start that has not finished by then failed (default: 30s).")
    Long startTimeout;

    @Option(
        names = "--stop-timeout",
        paramLabel = "DURATION",
        converter = Millis.class,
        description = "A stop that has not finished by then is killed (default: 15s).")
    Long stopTimeout;

    AddResource(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      // Options left out are not sent, so the server's documented defaults apply.
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("name", name);
      body.put("start", start);
      body.put("stop", stop);
      putIfSet(body, "check", check);
      body.put("dependsOn", List.copyOf(dependsOn));
      putIfSet(body, "checkIntervalMs", checkInterval);
      putIfSet(body, "checkTimeoutMs", checkTimeout);
      putIfSet(body, "restartLimit", restartLimit);
      putIfSet(body, "restartPeriodMs", restartPeriod);
      putIfSet(body, "startTimeoutMs", startTimeout);
      putIfSet(body, "stopTimeoutMs", stopTimeout);
      JsonNode created = api.call("POST", RESOURCES, body);
      return report(
          created,
          "Added resource "
              + name
              + (dependsOn.isEmpty() ? "" : " (depends on " + String.join(", ", dependsOn) + ")")
              + " to the role; the owner starts it."
              + WATCH);
    }

    private static void putIfSet(Map<String, Object> body, String field, Object value) {
      if (value != null) {
        body.put(field, value);
      }
    }
  }

  /** {@code vigil cluster resource ACTION NAME}: one request about one resource. */
  abstract static class ResourceAction extends Change {
    @Parameters(
        paramLabel = "NAME",
        description = "The resource, as \"vigil cluster status\" names it.")
    String resource;

    ResourceAction(Terminal terminal) {
      super(terminal);
    }

    String path() {
      if (!ClusterRoutes.RESOURCE_NAME.matcher(resource).matches()) {
        throw CliException.usage(
            "invalid_resource_name",
            "\""
                + resource
                + "\" is not a resource name: resources are named with lower-case letters, digits"
                + " and hyphens; \"vigil cluster resource list\" shows them.");
      }
      return RESOURCES + "/" + resource;
    }
  }

  @Command(
      name = "remove",
      description = "Remove a generic resource; refused while others depend on it.",
      mixinStandardHelpOptions = true)
  static final class RemoveResource extends ResourceAction {
    RemoveResource(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      return report(
          api.call("DELETE", path(), null), "Removed resource " + resource + " from the role.");
    }
  }

  @Command(
      name = "start",
      description = "Start a resource and what it depends on, by hand (needs maintenance on).",
      mixinStandardHelpOptions = true)
  static final class StartResource extends ResourceAction {
    StartResource(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      return report(
          api.call("POST", path() + "/start", null),
          "Asked to start resource " + resource + " and what it depends on." + WATCH);
    }
  }

  @Command(
      name = "stop",
      description = "Stop a resource and what depends on it, by hand (needs maintenance on).",
      mixinStandardHelpOptions = true)
  static final class StopResource extends ResourceAction {
    StopResource(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      return report(
          api.call("POST", path() + "/stop", null),
          "Asked to stop resource " + resource + " and what depends on it." + WATCH);
    }
  }

  // ---- parsing

  /**
   * Accepts {@code on} and {@code off} in any case, so a typo is a usage error before anything is
   * sent. A Boolean parameter would not do: picocli gives booleans an optional value.
   */
  static final class OnOff implements CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
      String normalized = value.trim().toLowerCase(Locale.ROOT);
      return switch (normalized) {
        case "on", "off" -> normalized;
        default ->
            throw new CommandLine.TypeConversionException(
                "\"" + value + "\" is neither on nor off: use \"on\" or \"off\"");
      };
    }
  }

  /**
   * A positive duration with a unit, {@code 500ms}, {@code 2s}, {@code 10m} or {@code 1h}, as
   * milliseconds. A bare number is refused: whether it meant seconds or milliseconds is a guess.
   */
  static final class Millis implements CommandLine.ITypeConverter<Long> {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");

    @Override
    public Long convert(String value) {
      Matcher m = DURATION.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
        throw new CommandLine.TypeConversionException(
            "\""
                + value
                + "\" is not a positive duration: give a whole number with a unit, e.g. 500ms,"
                + " 2s, 10m or 1h");
      }
      long amount = Long.parseLong(m.group(1));
      long unit =
          switch (m.group(2)) {
            case "ms" -> 1L;
            case "s" -> 1_000L;
            case "m" -> 60_000L;
            default -> 3_600_000L;
          };
      return amount * unit;
    }
  }

  static String requireNodeName(String node) {
    if (!ClusterRoutes.NODE_NAME.matcher(node).matches()) {
      throw CliException.usage(
          "invalid_node_name",
          "\""
              + node
              + "\" is not a node name: node names are letters, digits, '.', '_' and '-';"
              + " \"vigil cluster status\" lists the nodes.");
    }
    return node;
  }

  private static String names(JsonNode array) {
    List<String> names = new ArrayList<>();
    array.forEach(n -> names.add(n.asText()));
    return String.join(",", names);
  }
}
