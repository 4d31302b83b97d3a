package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.security.Role;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vigil user add|list|passwd|remove}: the node's users, through {@code /api/v1/users}. */
@Command(
    name = "user",
    description = "Manage the users of a running node.",
    mixinStandardHelpOptions = true)
final class UserCommand implements Runnable {

  static final String USERS = "/api/v1/users";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use one of add, list, passwd, remove.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new UserCommand())
        .addSubcommand(new Add(terminal))
        .addSubcommand(new ListUsers(terminal))
        .addSubcommand(new Passwd(terminal))
        .addSubcommand(new Remove(terminal));
  }

  @Command(
      name = "add",
      description = "Create a user.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class Add extends RemoteCommand {
    @Parameters(paramLabel = "USERNAME", description = "The new user's sign-in name.")
    String username;

    @Option(
        names = "--role",
        paramLabel = "ROLE",
        converter = RoleId.class,
        description =
            "A role to grant; repeat for several. One of administrator, operator, viewer,"
                + " component (default: viewer).")
    List<String> roles = new ArrayList<>();

    @Option(
        names = "--display-name",
        paramLabel = "NAME",
        description = "The name shown in the console (default: the user name).")
    String displayName;

    @Option(
        names = "--password-stdin",
        description = "Read the new user's password from the first line of standard input.")
    boolean passwordStdin;

    Add(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      char[] password = newPassword(terminal, passwordStdin, username);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("username", username);
      body.put("displayName", displayName == null ? username : displayName);
      body.put("password", new String(password));
      body.put("roles", roles.isEmpty() ? List.of(Role.VIEWER.id()) : List.copyOf(roles));
      Arrays.fill(password, '\0');
      JsonNode created = api.call("POST", USERS, body);
      if (json) {
        printJson(created);
      } else {
        terminal
            .out()
            .println(
                "Created user "
                    + created.path("username").asText(username)
                    + " (id "
                    + created.path("id").asText("?")
                    + ", roles "
                    + roles(created)
                    + ").");
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "list", description = "List the users.", mixinStandardHelpOptions = true)
  static final class ListUsers extends RemoteCommand {
    ListUsers(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.list(USERS);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("USERNAME", "DISPLAY NAME", "ROLES", "ENABLED", "CREATED", "ID");
      for (JsonNode u : list.path("items")) {
        table.row(
            text(u, "username"),
            text(u, "displayName"),
            roles(u),
            u.has("enabled") ? (u.path("enabled").asBoolean() ? "yes" : "no") : null,
            instant(text(u, "createdAt")),
            text(u, "id"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(name = "passwd", description = "Set a user's password.", mixinStandardHelpOptions = true)
  static final class Passwd extends RemoteCommand {
    @Parameters(paramLabel = "USERNAME", description = "The user whose password changes.")
    String username;

    @Option(
        names = "--password-stdin",
        description = "Read the new password from the first line of standard input.")
    boolean passwordStdin;

    Passwd(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      char[] password = newPassword(terminal, passwordStdin, username);
      String id = findId(api, username);
      Map<String, Object> body = Map.of("password", new String(password));
      Arrays.fill(password, '\0');
      api.call("PUT", USERS + "/" + id + "/password", body);
      if (!json) {
        terminal.out().println("Changed the password of " + username + ".");
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "remove", description = "Delete a user.", mixinStandardHelpOptions = true)
  static final class Remove extends RemoteCommand {
    @Parameters(paramLabel = "USERNAME", description = "The user to delete.")
    String username;

    Remove(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      String id = findId(api, username);
      api.call("DELETE", USERS + "/" + id, null);
      if (!json) {
        terminal.out().println("Removed user " + username + ".");
      }
      return ExitCodes.OK;
    }
  }

  /** Accepts only the built-in role ids, so a typo is a usage error before anything is sent. */
  static final class RoleId implements CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return Role.fromId(value.trim())
          .map(Role::id)
          .orElseThrow(
              () ->
                  new CommandLine.TypeConversionException(
                      "unknown role \""
                          + value
                          + "\": use one of "
                          + Arrays.stream(Role.values())
                              .map(Role::id)
                              .collect(Collectors.joining(", "))));
    }
  }

  /**
   * The user's id by name. The API addresses users by id; user lists are small, so the CLI lists
   * them and matches the name exactly, falling back to a unique case-insensitive match.
   */
  static String findId(ApiClient api, String username) {
    List<JsonNode> matches = new ArrayList<>();
    for (JsonNode u : api.list(USERS).path("items")) {
      String name = RemoteCommand.text(u, "username");
      if (username.equals(name)) {
        return RemoteCommand.text(u, "id");
      }
      if (username.equalsIgnoreCase(name)) {
        matches.add(u);
      }
    }
    if (matches.size() == 1) {
      return matches.get(0).path("id").asText();
    }
    throw new CliException(
        ExitCodes.NOT_FOUND,
        "user_not_found",
        "No user named \""
            + username
            + "\" on "
            + api.server()
            + ". \"vigil user list\" shows the users there.");
  }

  /**
   * The new password: the first line of standard input with {@code --password-stdin}, else asked
   * twice at the terminal; without either there is no safe source, so the command stops.
   */
  static char[] newPassword(Terminal terminal, boolean fromStdin, String username) {
    if (fromStdin) {
      String line;
      try {
        line =
            new BufferedReader(new InputStreamReader(terminal.in(), StandardCharsets.UTF_8))
                .readLine();
      } catch (IOException e) {
        throw new CliException(
            ExitCodes.ERROR, "stdin_unreadable", "Cannot read standard input: " + e.getMessage());
      }
      if (line == null || line.isEmpty()) {
        throw CliException.usage(
            "empty_password",
            "--password-stdin read an empty password: pipe the password as the first line of"
                + " standard input.");
      }
      return line.toCharArray();
    }
    if (terminal.passwords() == null) {
      throw CliException.usage(
          "no_password",
          "No terminal to ask for the new password of \""
              + username
              + "\": pipe it in with --password-stdin.");
    }
    char[] first = terminal.passwords().read("New password for " + username + ": ");
    char[] second = terminal.passwords().read("Repeat the new password: ");
    if (first == null || first.length == 0) {
      throw CliException.usage("empty_password", "No password entered for \"" + username + "\".");
    }
    if (!Arrays.equals(first, second)) {
      throw CliException.usage(
          "password_mismatch", "The two passwords differ; nothing was changed. Try again.");
    }
    if (second != null) {
      Arrays.fill(second, '\0');
    }
    return first;
  }

  static String roles(JsonNode user) {
    List<String> names = new ArrayList<>();
    user.path("roles").forEach(r -> names.add(r.asText()));
    return String.join(",", names);
  }

  /** An ISO-8601 instant shortened to seconds for the table; other text is shown as it is. */
  static String instant(String iso) {
    if (iso == null || iso.isBlank()) {
      return null;
    }
    try {
      return Instant.parse(iso).truncatedTo(ChronoUnit.SECONDS).toString();
    } catch (DateTimeParseException e) {
      return iso;
    }
  }
}
