package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vigil identity provider …} and {@code vigil identity rule …}: external OpenID Connect
 * providers and the claim rules that grant their users roles, through {@code /api/v1/identity/…}.
 *
 * <p>A client secret is never taken from the command line (it would show in the process list and
 * the shell history): it is read from standard input with {@code --client-secret-stdin} or asked
 * for at the terminal.
 */
@Command(
    name = "identity",
    description = "Manage external identity providers and their claim rules on a running node.",
    mixinStandardHelpOptions = true)
final class IdentityCommand implements Runnable {

  static final String PROVIDERS = "/api/v1/identity/providers";
  static final String RULES = "/api/v1/identity/rules";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: use provider or rule.");
  }

  static CommandLine commandLine(Terminal terminal) {
    return new CommandLine(new IdentityCommand())
        .addSubcommand(
            new CommandLine(new Providers())
                .addSubcommand(new AddProvider(terminal))
                .addSubcommand(new ListProviders(terminal))
                .addSubcommand(new ShowProvider(terminal))
                .addSubcommand(new UpdateProvider(terminal))
                .addSubcommand(new RemoveProvider(terminal)))
        .addSubcommand(
            new CommandLine(new Rules())
                .addSubcommand(new AddRule(terminal))
                .addSubcommand(new ListRules(terminal))
                .addSubcommand(new RemoveRule(terminal)));
  }

  @Command(
      name = "provider",
      description = "External OpenID Connect providers users can sign in with.",
      mixinStandardHelpOptions = true)
  static final class Providers implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "Missing command: use one of add, list, show, update, remove.");
    }
  }

  @Command(
      name = "rule",
      description = "Claim rules: a provider's claim value that grants a role.",
      mixinStandardHelpOptions = true)
  static final class Rules implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "Missing command: use one of add, list, remove.");
    }
  }

  /** Options that add and update share; null means "not given". */
  abstract static class ProviderOptions extends RemoteCommand {
    @Option(
        names = "--display-name",
        paramLabel = "TEXT",
        description = "Shown as \"Sign in with TEXT\".")
    String displayName;

    @Option(
        names = "--authority",
        paramLabel = "URL",
        description = "The provider's issuer URL (https; http only on localhost).")
    String authority;

    @Option(
        names = "--client-id",
        paramLabel = "ID",
        description = "Vigil's client id at the provider.")
    String clientId;

    @Option(
        names = "--client-authentication",
        paramLabel = "METHOD",
        description = "client_secret_basic (default), client_secret_post or private_key_jwt.")
    String clientAuthentication;

    @Option(
        names = "--client-secret-stdin",
        description = "Read the client secret from the first line of standard input.")
    boolean secretFromStdin;

    @Option(
        names = "--certificate-thumbprint",
        paramLabel = "SHA1",
        description =
            "For private_key_jwt: thumbprint of the certificate in the node's personal store.")
    String thumbprint;

    @Option(
        names = "--callback-path",
        paramLabel = "PATH",
        description = "Where the provider sends users back (default /signin-oidc).")
    String callbackPath;

    @Option(
        names = "--scope",
        paramLabel = "SCOPE",
        description = "A scope to request; repeat for several (default openid profile email).")
    List<String> scopes;

    @Option(
        names = "--user-name-claim",
        paramLabel = "CLAIM",
        description = "The ID token claim the user name comes from (default preferred_username).")
    String userNameClaim;

    @Option(
        names = "--prompt-login",
        negatable = true,
        description = "Make the provider always ask for credentials (prompt=login).")
    Boolean promptLogin;

    ProviderOptions(Terminal terminal) {
      super(terminal);
    }

    Map<String, Object> body(boolean secretRequired) {
      Map<String, Object> body = new LinkedHashMap<>();
      put(body, "displayName", displayName);
      put(body, "authority", authority);
      put(body, "clientId", clientId);
      put(body, "clientAuthentication", clientAuthentication);
      put(body, "certificateThumbprint", thumbprint);
      put(body, "callbackPath", callbackPath);
      put(body, "scopes", scopes == null ? null : List.copyOf(scopes));
      put(body, "userNameClaim", userNameClaim);
      put(body, "promptForLogin", promptLogin);
      String secret = secret(secretRequired);
      put(body, "clientSecret", secret);
      return body;
    }

    private String secret(boolean required) {
      if (secretFromStdin) {
        String line = firstLine(terminal);
        if (line == null || line.isEmpty()) {
          throw CliException.usage(
              "empty_secret",
              "--client-secret-stdin read nothing: pipe the secret as the first line of standard"
                  + " input.");
        }
        return line;
      }
      if (!required) {
        return null;
      }
      if (terminal.passwords() == null) {
        throw CliException.usage(
            "no_secret",
            "No terminal to ask for the client secret: pipe it in with --client-secret-stdin, or"
                + " use --client-authentication private_key_jwt.");
      }
      char[] entered = terminal.passwords().read("Client secret: ");
      if (entered == null || entered.length == 0) {
        throw CliException.usage("empty_secret", "No client secret entered.");
      }
      return new String(entered);
    }
  }

  @Command(
      name = "add",
      description = "Add an external OpenID Connect provider.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class AddProvider extends ProviderOptions {
    @Parameters(paramLabel = "NAME", description = "Unique lower-case name, used in URLs.")
    String name;

    @Option(names = "--disabled", description = "Add it disabled (not offered at sign-in).")
    boolean disabled;

    AddProvider(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      if (authority == null || clientId == null) {
        throw CliException.usage(
            "missing_option", "Give the provider's --authority and --client-id.");
      }
      boolean keyJwt = "private_key_jwt".equals(clientAuthentication);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("name", name);
      body.putAll(body(!keyJwt));
      if (disabled) {
        body.put("enabled", false);
      }
      JsonNode created = api.call("POST", PROVIDERS, body);
      if (json) {
        printJson(created);
      } else {
        terminal
            .out()
            .println(
                "Added identity provider "
                    + text(created, "name")
                    + ". Register this redirect URI at the provider: "
                    + text(created, "redirectUri"));
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "list", description = "List the providers.", mixinStandardHelpOptions = true)
  static final class ListProviders extends RemoteCommand {
    ListProviders(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list = api.list(PROVIDERS);
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("NAME", "DISPLAY NAME", "AUTHORITY", "CLIENT AUTH", "ENABLED");
      for (JsonNode p : list.path("items")) {
        table.row(
            text(p, "name"),
            text(p, "displayName"),
            text(p, "authority"),
            text(p, "clientAuthentication"),
            p.path("enabled").asBoolean() ? "yes" : "no");
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(name = "show", description = "Show one provider.", mixinStandardHelpOptions = true)
  static final class ShowProvider extends RemoteCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    ShowProvider(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode p = api.get(PROVIDERS + "/" + path(name));
      if (json) {
        printJson(p);
        return ExitCodes.OK;
      }
      Table table = new Table("FIELD", "VALUE");
      for (String field :
          List.of(
              "name",
              "displayName",
              "authority",
              "clientId",
              "clientAuthentication",
              "clientSecretSet",
              "certificateThumbprint",
              "callbackPath",
              "redirectUri",
              "userNameClaim",
              "promptForLogin",
              "enabled",
              "revision")) {
        table.row(field, text(p, field));
      }
      List<String> scopes = new ArrayList<>();
      p.path("scopes").forEach(s -> scopes.add(s.asText()));
      table.row("scopes", String.join(" ", scopes));
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "update",
      description = "Change a provider; options not given keep their value.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class UpdateProvider extends ProviderOptions {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(
        names = "--enabled",
        negatable = true,
        description = "Offer the provider at sign-in (--no-enabled disables it).")
    Boolean enabled;

    UpdateProvider(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> body = body(false);
      put(body, "enabled", enabled);
      if (body.isEmpty()) {
        throw CliException.usage("nothing_to_change", "Give at least one option to change.");
      }
      JsonNode current = api.get(PROVIDERS + "/" + path(name));
      body.put("revision", current.path("revision").asLong());
      JsonNode after = api.call("PATCH", PROVIDERS + "/" + path(name), body);
      if (json) {
        printJson(after);
      } else {
        terminal
            .out()
            .println(
                "Updated identity provider "
                    + name
                    + " (revision "
                    + text(after, "revision")
                    + ").");
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "remove",
      description = "Delete a provider together with the users it signed in and its claim rules.",
      mixinStandardHelpOptions = true)
  static final class RemoveProvider extends RemoteCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(
        names = "--yes",
        description = "Confirm without being asked (for scripts; there is no undo).")
    boolean yes;

    RemoveProvider(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      String path = PROVIDERS + "/" + path(name);
      if (!yes) {
        try {
          // Without confirmation the node deletes nothing and says what would go.
          api.call("DELETE", path, null);
          throw new CliException(
              ExitCodes.ERROR,
              "unexpected_response",
              "The node deleted provider " + name + " without confirmation.");
        } catch (CliException e) {
          if (!"confirmation_required".equals(e.code())) {
            throw e;
          }
          if (terminal.passwords() == null) {
            throw new CliException(
                ExitCodes.CONFLICT,
                "confirmation_required",
                e.getMessage() + " Nothing was deleted; run again with --yes to confirm.");
          }
          terminal.out().println(e.getMessage());
          terminal.out().print("Type the provider's name to delete it: ");
          terminal.out().flush();
          String answer = firstLine(terminal);
          if (!name.equals(answer == null ? null : answer.strip())) {
            throw new CliException(ExitCodes.CONFLICT, "not_confirmed", "Nothing was deleted.");
          }
        }
      }
      api.call(
          "DELETE", path + "?confirm=" + URLEncoder.encode(name, StandardCharsets.UTF_8), null);
      if (!json) {
        terminal.out().println("Removed identity provider " + name + ", its users and its rules.");
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "add",
      description = "Grant a role to a provider's users whose claim has a value.",
      mixinStandardHelpOptions = true,
      sortOptions = false)
  static final class AddRule extends RemoteCommand {
    @Option(names = "--provider", required = true, paramLabel = "NAME")
    String provider;

    @Option(
        names = "--claim",
        required = true,
        paramLabel = "CLAIM",
        description = "An ID token claim, e.g. groups.")
    String claim;

    @Option(
        names = "--value",
        required = true,
        paramLabel = "VALUE",
        description = "The claim's value (for a list claim: one of its values).")
    String value;

    @Option(
        names = "--role",
        required = true,
        paramLabel = "ROLE",
        converter = UserCommand.RoleId.class,
        description = "One of administrator, operator, viewer, component.")
    String role;

    AddRule(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("provider", provider);
      body.put("claim", claim);
      body.put("value", value);
      body.put("role", role);
      JsonNode created = api.call("POST", RULES, body);
      if (json) {
        printJson(created);
      } else {
        terminal
            .out()
            .println(
                "Added rule "
                    + text(created, "id")
                    + ": users of "
                    + provider
                    + " with "
                    + claim
                    + " = "
                    + value
                    + " get role "
                    + role
                    + " at their next sign-in.");
      }
      return ExitCodes.OK;
    }
  }

  @Command(name = "list", description = "List the claim rules.", mixinStandardHelpOptions = true)
  static final class ListRules extends RemoteCommand {
    @Option(names = "--provider", paramLabel = "NAME", description = "Only this provider's rules.")
    String provider;

    ListRules(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      JsonNode list =
          api.list(
              provider == null
                  ? RULES
                  : RULES + "?provider=" + URLEncoder.encode(provider, StandardCharsets.UTF_8));
      if (json) {
        printJson(list);
        return ExitCodes.OK;
      }
      Table table = new Table("PROVIDER", "CLAIM", "VALUE", "ROLE", "ID");
      for (JsonNode r : list.path("items")) {
        table.row(
            text(r, "provider"),
            text(r, "claim"),
            text(r, "value"),
            text(r, "role"),
            text(r, "id"));
      }
      terminal.out().print(table.render());
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  @Command(name = "remove", description = "Delete a claim rule.", mixinStandardHelpOptions = true)
  static final class RemoveRule extends RemoteCommand {
    @Parameters(
        paramLabel = "ID",
        description = "The rule's id (see \"vigil identity rule list\").")
    String id;

    RemoveRule(Terminal terminal) {
      super(terminal);
    }

    @Override
    int run(ApiClient api) {
      api.call("DELETE", RULES + "/" + path(id), null);
      if (!json) {
        terminal.out().println("Removed rule " + id + ".");
      }
      return ExitCodes.OK;
    }
  }

  private static void put(Map<String, Object> body, String field, Object value) {
    if (value != null) {
      body.put(field, value);
    }
  }

  private static String path(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String firstLine(Terminal terminal) {
    try {
      return new BufferedReader(new InputStreamReader(terminal.in(), StandardCharsets.UTF_8))
          .readLine();
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR, "stdin_unreadable", "Cannot read standard input: " + e.getMessage());
    }
  }
}
