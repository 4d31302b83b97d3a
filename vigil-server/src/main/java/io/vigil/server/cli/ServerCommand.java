package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vigil server list}: the servers registered with the site, through the HTTP API. */
@Command(
    name = "server",
    description = "Show the servers registered with a running node.",
    mixinStandardHelpOptions = true)
final class ServerCommand implements Runnable {

  static final String SERVERS = "/api/v1/servers";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: use list.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new ServerCommand()).addSubcommand(new ListServers(terminal));
  }

  @Command(
      name = "list",
      description = "List the registered servers and their status.",
      mixinStandardHelpOptions = true)
  static final class ListServers extends RemoteCommand {
    ListServers(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.list(SERVERS);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("NAME", "TYPE", "ADDRESS", "STATUS", "VERSION", "LAST SEEN", "ID");
      for (JsonNode s : list.path("items")) {
        table.row(
            text(s, "name"),
            text(s, "type"),
            text(s, "address"),
            text(s, "status"),
            text(s, "version"),
            UserCommand.instant(text(s, "lastSeenAt")),
            text(s, "id"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }
}
