package io.vigil.server.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/**
 * Base of the administrative verbs that talk to a running node over HTTP(S): the connection options
 * every one of them shares ({@code --server}, {@code --user}, {@code --json}, {@code --cacert}),
 * and how the command signs in. An https node's certificate is always verified (see {@link
 * ServerTrust}); there is no option to skip that.
 *
 * <p>A script that is given {@code VIGIL_PASSWORD} signs in as {@code --user} with the password
 * grant. Otherwise the command uses the sign-in {@code vigil login} stored for the node ({@link
 * Credentials}); without one it fails with exit code 3 and says to run {@code vigil login}. People
 * are never asked for their password here: the password grant is for scripts only (RFC 9700 2.4).
 * The credential is used only when the first request is sent. A user with multi-factor sign-in also
 * needs a one-time code for the password grant, asked for only when the server says so: from {@code
 * VIGIL_OTP}, else from a prompt at an interactive terminal, else exit code 3.
 */
abstract class RemoteCommand implements Callable<Integer> {

  static final String DEFAULT_SERVER = "http://127.0.0.1:8080";
  static final String DEFAULT_USER = "admin";

  @Option(
      names = "--server",
      paramLabel = "URL",
      description =
          "The node to talk to (default: VIGIL_SERVER, else the management server address vigil"
              + " configure register stored, else "
              + DEFAULT_SERVER
              + ").")
  String server;

  @Option(
      names = "--user",
      paramLabel = "NAME",
      description =
          "With VIGIL_PASSWORD (scripts), sign in as this user (default: VIGIL_USER, else "
              + DEFAULT_USER
              + ").")
  String user;

  @Option(names = "--json", description = "Print the server's JSON instead of a table.")
  boolean json;

  @Option(
      names = "--cacert",
      paramLabel = "FILE",
      description =
          "Also trust the certificates in this PEM file (the node's CA, or its self-signed"
              + " certificate) when verifying an https server (default: VIGIL_CACERT).")
  Path caCert;

  final Terminal terminal;

  RemoteCommand(Terminal terminal) {
    this.terminal = terminal;
  }

  @Override
  public final Integer call() {
    URI uri = serverUri();
    return run(new ApiClient(uri, trust(), credential(uri)));
  }

  private ApiClient.Credential credential(URI uri) {
    return credential(
        terminal, user, uri, server == null && terminal.env().get("VIGIL_SERVER") == null);
  }

  /**
   * How a command signs in to {@code uri}: the password grant as {@code user} with {@code
   * VIGIL_PASSWORD}, else the sign-in {@code vigil login} stored, else a credential that fails with
   * exit code 3 and says how to sign in.
   *
   * @param defaultServer whether {@code uri} is the default node, so that the advice to run {@code
   *     vigil login} need not name it
   */
  static ApiClient.Credential credential(
      Terminal terminal, String user, URI uri, boolean defaultServer) {
    String name = firstNonBlank(user, terminal.env().get("VIGIL_USER"), DEFAULT_USER);
    String password = terminal.env().get("VIGIL_PASSWORD");
    if (password != null && !password.isEmpty()) {
      return ApiClient.password(
          name, password::toCharArray, () -> oneTimeCode(terminal, uri, name));
    }
    Credentials store = Credentials.of(terminal.env());
    Optional<Credentials.Entry> stored = store.find(uri);
    if (stored.isPresent()) {
      return store.credential(uri, stored.get());
    }
    String login =
        "\"vigil login" + (defaultServer ? "" : " --server " + Credentials.key(uri)) + "\"";
    return ApiClient.none(
        new CliException(
            ExitCodes.AUTHENTICATION,
            "not_signed_in",
            terminal.passwords() != null
                ? "Not signed in to "
                    + Credentials.key(uri)
                    + ": run "
                    + login
                    + " (add --device where this machine has no browser), then this command"
                    + " again."
                : "Not signed in to "
                    + Credentials.key(uri)
                    + " and no VIGIL_PASSWORD: a script sets VIGIL_PASSWORD (and VIGIL_USER) to"
                    + " sign in with the password grant; a person runs "
                    + login
                    + " once in a terminal."));
  }

  /** The system's trust store plus {@code --cacert} (or VIGIL_CACERT). */
  ServerTrust trust() {
    return trust(caCert, terminal);
  }

  static ServerTrust trust(Path caCert, Terminal terminal) {
    Path file = caCert;
    String env = terminal.env().get("VIGIL_CACERT");
    if (file == null && env != null && !env.isBlank()) {
      file = Path.of(env.strip());
    }
    return ServerTrust.load(file);
  }

  /** Runs the command against the node; returns the exit code. */
  abstract int run(ApiClient api);

  URI serverUri() {
    return serverUri(server, terminal);
  }

  static URI serverUri(String server, Terminal terminal) {
    String value = firstNonBlank(server, terminal.env().get("VIGIL_SERVER"));
    if (value == null) {
      // Read only when needed: a damaged cli.json must not stop a command given --server.
      value = CliSettings.of(terminal.env()).server().orElse(DEFAULT_SERVER);
    }
    try {
      URI uri = new URI(value.trim());
      if (("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
          && uri.getHost() != null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // Reported below with the expected form.
    }
    throw CliException.usage(
        "invalid_server",
        "\""
            + value
            + "\" is not a node URL: give --server (or VIGIL_SERVER) as http://HOST:PORT or"
            + " https://HOST:PORT.");
  }

  void printJson(Object node) {
    try {
      terminal
          .out()
          .println(
              io.vigil.server.http.Json.MAPPER
                  .writerWithDefaultPrettyPrinter()
                  .writeValueAsString(node));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A field's text, or null when it is missing or JSON null (never the string "null"). */
  static String text(com.fasterxml.jackson.databind.JsonNode node, String field) {
    com.fasterxml.jackson.databind.JsonNode value = node.path(field);
    return value.isValueNode() && !value.isNull() ? value.asText() : null;
  }

  static String firstNonBlank(String... values) {
    for (String v : values) {
      if (v != null && !v.isBlank()) {
        return v;
      }
    }
    return null;
  }

  private static String oneTimeCode(Terminal terminal, URI uri, String name) {
    String env = terminal.env().get("VIGIL_OTP");
    if (env != null && !env.isBlank()) {
      return env;
    }
    if (terminal.passwords() == null) {
      throw new CliException(
          ExitCodes.AUTHENTICATION,
          "mfa_required",
          "User \""
              + name
              + "\" signs in with a one-time code and there is no terminal to ask for it: set"
              + " VIGIL_OTP to the current code from the authenticator app (or a recovery code).");
    }
    char[] entered = terminal.passwords().read("One-time code for " + name + " at " + uri + ": ");
    if (entered == null || entered.length == 0) {
      throw new CliException(
          ExitCodes.AUTHENTICATION,
          "mfa_required",
          "No one-time code entered for \"" + name + "\".");
    }
    return new String(entered);
  }
}
