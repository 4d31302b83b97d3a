package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vigil login} and {@code vigil logout}: a person signs the CLI in once, in a browser, and
 * later commands use the refresh token stored for that node ({@link Credentials}).
 *
 * <p>By default the authorization code flow with PKCE (S256) through a loopback redirect (RFC
 * 8252): the command listens on {@code 127.0.0.1} on a port the system picks, prints the sign-in
 * address (and opens it when a desktop is present), and takes the code from the one redirect whose
 * {@code state} is its own. {@code --device} uses the device authorization grant (RFC 8628) for a
 * machine without a browser: it prints an address and a code to enter on any other device, and
 * polls until the user approved or denied there.
 */
final class LoginCommand {

  static final String SCOPE = "openid vigil.api offline_access";

  /** How long a sign-in in the browser may take. */
  static final Duration BROWSER_TIMEOUT = Duration.ofMinutes(5);

  private static final SecureRandom RANDOM = new SecureRandom();

  private LoginCommand() {}

  @Command(
      name = "login",
      description =
          "Sign in to a node in a browser and store the sign-in for later commands"
              + " (scripts use VIGIL_PASSWORD instead).",
      mixinStandardHelpOptions = true)
  static final class Login implements Callable<Integer> {

    @Option(
        names = "--server",
        paramLabel = "URL",
        description =
            "The node to sign in to (default: VIGIL_SERVER, else "
                + RemoteCommand.DEFAULT_SERVER
                + ").")
    String server;

    @Option(
        names = "--device",
        description =
            "Sign in on another device (no browser here): print an address and a code to enter"
                + " there.")
    boolean device;

    @Option(
        names = "--cacert",
        paramLabel = "FILE",
        description = "Also trust the certificates in this PEM file (default: VIGIL_CACERT).")
    Path caCert;

    private final Terminal terminal;

    Login(Terminal terminal) {
      this.terminal = terminal;
    }

    @Override
    public Integer call() {
      URI uri = RemoteCommand.serverUri(server, terminal);
      ApiClient api =
          new ApiClient(
              uri,
              RemoteCommand.trust(caCert, terminal),
              ApiClient.none(new CliException(ExitCodes.ERROR, null, "no token is needed")));
      JsonNode tokens = device ? deviceFlow(api) : loopbackFlow(api);
      String refresh = tokens.path("refresh_token").asText("");
      if (refresh.isEmpty()) {
        throw new CliException(
            ExitCodes.AUTHENTICATION,
            "no_refresh_token",
            "The node at " + uri + " signed in but issued no refresh token, so nothing is stored.");
      }
      String user = userName(tokens.path("access_token").asText(""));
      Credentials store = Credentials.of(terminal.env());
      store.save(uri, new Credentials.Entry(refresh, user));
      terminal
          .out()
          .println(
              "Signed in to "
                  + Credentials.key(uri)
                  + (user == null ? "" : " as " + user)
                  + ". Commands use this sign-in until \"vigil logout\" (stored in "
                  + store.file()
                  + ").");
      terminal.out().flush();
      return ExitCodes.OK;
    }

    /** Authorization code with PKCE through a redirect to a listener on 127.0.0.1. */
    private JsonNode loopbackFlow(ApiClient api) {
      CodeVerifier verifier = new CodeVerifier();
      String state = random();
      CompletableFuture<Map<String, String>> answer = new CompletableFuture<>();
      HttpServer listener;
      try {
        listener =
            HttpServer.create(
                new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 0);
      } catch (IOException e) {
        throw new CliException(
            ExitCodes.ERROR,
            "no_loopback",
            "Cannot listen on 127.0.0.1 for the browser's answer ("
                + e.getMessage()
                + "); use \"vigil login --device\" instead.");
      }
      listener.createContext("/", exchange -> callback(exchange, state, answer));
      listener.start();
      try {
        String redirect = "http://127.0.0.1:" + listener.getAddress().getPort() + "/callback";
        Map<String, String> query = new LinkedHashMap<>();
        query.put("response_type", "code");
        query.put("client_id", ApiClient.CLIENT_ID);
        query.put("redirect_uri", redirect);
        query.put("scope", SCOPE);
        query.put("state", state);
        query.put(
            "code_challenge", CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue());
        query.put("code_challenge_method", "S256");
        String url = base(api) + "/idp/connect/authorize?" + form(query);
        terminal.out().println("Open this address in a browser to sign in:");
        terminal.out().println();
        terminal.out().println("  " + url);
        terminal.out().println();
        terminal
            .out()
            .println("Waiting for the browser (" + BROWSER_TIMEOUT.toMinutes() + " min)…");
        terminal.out().flush();
        openBrowser(url);
        Map<String, String> params = await(answer);
        if (params.containsKey("error")) {
          throw new CliException(
              ExitCodes.AUTHENTICATION,
              params.get("error"),
              "The sign-in was refused: "
                  + params.getOrDefault("error_description", params.get("error"))
                  + ".");
        }
        Map<String, String> grant = new LinkedHashMap<>();
        grant.put("grant_type", "authorization_code");
        grant.put("code", params.get("code"));
        grant.put("redirect_uri", redirect);
        grant.put("code_verifier", verifier.getValue());
        ApiClient.OAuthReply reply = api.postForm("/idp/connect/token", grant);
        if (reply.status() != 200) {
          throw api.oauthFailure("Sign-in", "/idp/connect/token", reply);
        }
        return reply.body();
      } finally {
        listener.stop(0);
      }
    }

    /** The browser's redirect: only one carrying our {@code state} completes the sign-in. */
    private static void callback(
        HttpExchange exchange, String state, CompletableFuture<Map<String, String>> answer)
        throws IOException {
      Map<String, String> params = new LinkedHashMap<>();
      String raw = exchange.getRequestURI().getRawQuery();
      if (raw != null) {
        for (String pair : raw.split("&")) {
          String[] kv = pair.split("=", 2);
          params.putIfAbsent(
              URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
              kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
        }
      }
      boolean ours =
          "GET".equals(exchange.getRequestMethod())
              && "/callback".equals(exchange.getRequestURI().getPath())
              && state.equals(params.get("state"))
              && (params.containsKey("code") || params.containsKey("error"));
      String page =
          ours
              ? params.containsKey("code")
                  ? "Signed in to Vigil. You can close this window and return to the terminal."
                  : "The sign-in was refused; see the terminal."
              : "This address is waiting for a Vigil sign-in and did not expect this request.";
      byte[] body =
          ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vigil"
                  + " sign-in</title></head><body><p>"
                  + page
                  + "</p></body></html>\n")
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
      exchange.getResponseHeaders().add("Cache-Control", "no-store");
      exchange.getResponseHeaders().add("Referrer-Policy", "no-referrer");
      exchange.sendResponseHeaders(ours ? 200 : 400, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
      if (ours) {
        answer.complete(params);
      }
    }

    private static Map<String, String> await(CompletableFuture<Map<String, String>> answer) {
      try {
        return answer.get(BROWSER_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        throw new CliException(
            ExitCodes.AUTHENTICATION,
            "login_timeout",
            "No sign-in arrived from the browser within "
                + BROWSER_TIMEOUT.toMinutes()
                + " minutes; run \"vigil login\" again, or \"vigil login --device\" where the"
                + " browser is on another machine.");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException(ExitCodes.ERROR, "interrupted", "Interrupted.");
      } catch (ExecutionException e) {
        throw new IllegalStateException(e.getCause());
      }
    }

    /** The device authorization grant: a code to enter elsewhere, then polling. */
    private JsonNode deviceFlow(ApiClient api) {
      ApiClient.OAuthReply started =
          api.postForm("/idp/connect/device_authorization", Map.of("scope", SCOPE));
      if (started.status() != 200) {
        throw api.oauthFailure("Device sign-in", "/idp/connect/device_authorization", started);
      }
      JsonNode s = started.body();
      String deviceCode = s.path("device_code").asText();
      long interval = Math.max(1, s.path("interval").asLong(5));
      long deadline =
          System.nanoTime() + TimeUnit.SECONDS.toNanos(s.path("expires_in").asLong(600));
      terminal.out().println("On any device with a browser, open");
      terminal.out().println();
      terminal.out().println("  " + s.path("verification_uri").asText());
      terminal.out().println();
      terminal.out().println("and enter the code  " + s.path("user_code").asText());
      terminal.out().println();
      if (s.hasNonNull("verification_uri_complete")) {
        terminal.out().println("(or open " + s.path("verification_uri_complete").asText() + ")");
      }
      terminal.out().println("Waiting for the sign-in to be approved…");
      terminal.out().flush();
      while (true) {
        sleep(Duration.ofSeconds(interval));
        ApiClient.OAuthReply reply =
            api.postForm(
                "/idp/connect/token",
                Map.of(
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "device_code",
                    deviceCode));
        String error = reply.error();
        if (error == null) {
          return reply.body();
        }
        switch (error) {
          case "authorization_pending" -> {}
          case "slow_down" -> interval += 5;
          case "access_denied" ->
              throw new CliException(
                  ExitCodes.AUTHENTICATION,
                  "access_denied",
                  "The sign-in was denied at the device page.");
          case "expired_token" ->
              throw new CliException(
                  ExitCodes.AUTHENTICATION,
                  "expired_token",
                  "The code expired before the sign-in was approved; run \"vigil login --device\""
                      + " again.");
          default -> throw api.oauthFailure("Device sign-in", "/idp/connect/token", reply);
        }
        if (System.nanoTime() > deadline) {
          throw new CliException(
              ExitCodes.AUTHENTICATION,
              "expired_token",
              "The code expired before the sign-in was approved; run \"vigil login --device\""
                  + " again.");
        }
      }
    }

    /**
     * Opens {@code url} in the desktop's browser when there is a desktop; never fails, since the
     * address is printed anyway.
     */
    private void openBrowser(String url) {
      String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
      Map<String, String> env = terminal.env();
      String[] command;
      if (os.startsWith("windows")) {
        command = new String[] {"rundll32", "url.dll,FileProtocolHandler", url};
      } else if (os.startsWith("mac")) {
        command = new String[] {"open", url};
      } else if (env.get("DISPLAY") != null || env.get("WAYLAND_DISPLAY") != null) {
        command = new String[] {"xdg-open", url};
      } else {
        return;
      }
      try {
        new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
      } catch (IOException | RuntimeException e) {
        // No browser to open: the address is printed above.
      }
    }
  }

  @Command(
      name = "logout",
      description = "Revoke the sign-in \"vigil login\" stored for a node and delete it.",
      mixinStandardHelpOptions = true)
  static final class Logout implements Callable<Integer> {

    @Option(
        names = "--server",
        paramLabel = "URL",
        description =
            "The node to sign out of (default: VIGIL_SERVER, else "
                + RemoteCommand.DEFAULT_SERVER
                + ").")
    String server;

    @Option(
        names = "--cacert",
        paramLabel = "FILE",
        description = "Also trust the certificates in this PEM file (default: VIGIL_CACERT).")
    Path caCert;

    private final Terminal terminal;

    Logout(Terminal terminal) {
      this.terminal = terminal;
    }

    @Override
    public Integer call() {
      URI uri = RemoteCommand.serverUri(server, terminal);
      Credentials store = Credentials.of(terminal.env());
      var entry = store.find(uri);
      if (entry.isEmpty()) {
        terminal.out().println("Not signed in to " + Credentials.key(uri) + ".");
        terminal.out().flush();
        return ExitCodes.OK;
      }
      // Deleted first: whatever the node answers, this machine no longer holds the token.
      store.remove(uri);
      ApiClient api =
          new ApiClient(
              uri,
              RemoteCommand.trust(caCert, terminal),
              ApiClient.none(new CliException(ExitCodes.ERROR, null, "no token is needed")));
      ApiClient.OAuthReply reply;
      try {
        reply =
            api.postForm(
                "/idp/connect/revocation",
                Map.of("token", entry.get().refreshToken(), "token_type_hint", "refresh_token"));
      } catch (CliException e) {
        throw new CliException(
            e.exitCode(),
            e.code(),
            "The stored sign-in is deleted, but the node could not be told to revoke it ("
                + e.getMessage()
                + "); it ends on its own when its session does (8 hours at most).");
      }
      if (reply.status() != 200) {
        throw api.oauthFailure("Sign-out", "/idp/connect/revocation", reply);
      }
      terminal.out().println("Signed out of " + Credentials.key(uri) + ".");
      terminal.out().flush();
      return ExitCodes.OK;
    }
  }

  /** The node's base URL without a trailing slash. */
  private static String base(ApiClient api) {
    return api.server().toString().replaceAll("/+$", "");
  }

  private static String form(Map<String, String> params) {
    StringBuilder out = new StringBuilder();
    params.forEach(
        (k, v) ->
            out.append(out.isEmpty() ? "" : "&")
                .append(URLEncoder.encode(k, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return out.toString();
  }

  private static String random() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.ERROR, "interrupted", "Interrupted.");
    }
  }

  /**
   * The user name in an access token, for the message: read without checking the signature, which
   * the node checks whenever the token is used.
   */
  private static String userName(String accessToken) {
    String[] parts = accessToken.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    try {
      JsonNode claims = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(parts[1]));
      return claims.path("preferred_username").asText(null);
    } catch (IOException | IllegalArgumentException e) {
      return null;
    }
  }
}
