package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.http.Json;
import io.vigil.server.node.Node;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vigil login} end to end against a node in this process: the browser's part (the sign-in
 * page's form, the device page) is played with plain HTTP requests, and the commands after it use
 * the stored sign-in.
 */
class LoginCommandTest {

  static final String ADMIN_PASSWORD = "correct-horse-battery";

  @TempDir static Path dir;

  static Node node;
  static String server;

  final HttpClient browser =
      HttpClient.newBuilder()
          .followRedirects(HttpClient.Redirect.NEVER)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  static void startNode() {
    Path data = dir.resolve("data");
    var settings =
        SettingsLoader.load(
            data,
            Map.of(
                "VIGIL_ADMIN_PASSWORD",
                ADMIN_PASSWORD,
                "VIGIL_MACHINE_KEY_FILE",
                data.resolve("machine.key").toString(),
                "VIGIL_HTTP_ALLOW_PLAIN",
                "true"),
            new SettingsLoader.Overrides(data, 0, "127.0.0.1"));
    node = Node.start(settings);
    server = "http://127.0.0.1:" + node.port();
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  /** A {@code vigil} command running in the background, its output readable while it runs. */
  static final class Background {
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final CompletableFuture<Integer> exit;

    Background(Map<String, String> env, String... args) {
      Terminal terminal =
          new Terminal(
              Map.copyOf(env),
              new PrintWriter(out, true),
              new PrintWriter(err, true),
              new ByteArrayInputStream(new byte[0]),
              null);
      exit = CompletableFuture.supplyAsync(() -> Main.run(terminal, args));
    }

    /** Waits for a line of output matching {@code pattern}; returns its first group. */
    String await(String pattern) throws Exception {
      Pattern p = Pattern.compile(pattern);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        Matcher m = p.matcher(out.toString());
        if (m.find()) {
          return m.group(1);
        }
        if (exit.isDone()) {
          throw new AssertionError("vigil exited " + exit.get() + ": " + out + err);
        }
        Thread.sleep(20);
      }
      throw new AssertionError("no line matching " + pattern + " in: " + out);
    }

    int exitCode() throws Exception {
      return exit.get(60, TimeUnit.SECONDS);
    }
  }

  HttpResponse<String> get(String url) throws Exception {
    return browser.send(
        HttpRequest.newBuilder(URI.create(url)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String url, Map<String, String> form) throws Exception {
    String body =
        form.entrySet().stream()
            .map(
                e ->
                    URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                        + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
            .collect(Collectors.joining("&"));
    return browser.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Opens the sign-in page at {@code authorize} (on this node, whatever origin it names) and signs
   * in as admin with its form.
   *
   * @return where the sign-in page sends the browser
   */
  URI signInAt(URI authorize) throws Exception {
    String local = server + authorize.getRawPath() + "?" + authorize.getRawQuery();
    HttpResponse<String> page = get(local);
    assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
    assertThat(page.body()).contains("name=\"password\"");
    Map<String, String> form = new LinkedHashMap<>();
    for (String pair : authorize.getRawQuery().split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(
          URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
          URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
    }
    form.put("username", "admin");
    form.put("password", ADMIN_PASSWORD);
    HttpResponse<String> signedIn = post(server + "/idp/connect/authorize", form);
    assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(302);
    return URI.create(signedIn.headers().firstValue("Location").orElseThrow());
  }

  static Map<String, String> env(Path config) {
    Map<String, String> env = new HashMap<>();
    env.put("XDG_CONFIG_HOME", config.toString());
    env.put("VIGIL_SERVER", server);
    return env;
  }

  static Run vigil(Path config, String... args) {
    Run run = new Run();
    run.env.putAll(env(config));
    return run.exec(args);
  }

  static String storedRefreshToken(Path file) throws Exception {
    return Json.MAPPER
        .readTree(file.toFile())
        .path("servers")
        .path(server)
        .path("refreshToken")
        .asText();
  }

  @Test
  void loginInABrowserStoresAnOwnerOnlySignInThatLaterCommandsUseUntilLogout(@TempDir Path config)
      throws Exception {
    Background login = new Background(env(config), "login");
    String url = login.await("(http://127\\.0\\.0\\.1:\\d+/idp/connect/authorize\\?\\S+)");
    URI authorize = URI.create(url);
    assertThat(authorize.getRawQuery())
        .contains("client_id=vigil-cli")
        .contains("code_challenge_method=S256")
        .contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A");

    URI callback = signInAt(authorize);
    assertThat(callback.toString()).startsWith("http://127.0.0.1:");
    assertThat(callback.getPath()).isEqualTo("/callback");
    // A request without the login's state does not complete it.
    HttpResponse<String> forged =
        get("http://127.0.0.1:" + callback.getPort() + "/callback?code=x&state=forged");
    assertThat(forged.statusCode()).isEqualTo(400);
    HttpResponse<String> done = get(callback.toString());
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(done.body()).contains("Signed in to Vigil");

    assertThat(login.exitCode()).as(login.err.toString()).isZero();
    assertThat(login.out.toString()).contains("Signed in to " + server + " as admin.");
    Path file = config.resolve("vigil").resolve("credentials.json");
    assertThat(file).exists();
    if (OwnerOnlyFiles.posix()) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
          .isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
          .isEqualTo("rwx------");
    }
    String first = storedRefreshToken(file);
    assertThat(first).isNotBlank();

    Run list = vigil(config, "server", "list");
    assertThat(list.exit).as(list.err).isZero();
    assertThat(list.out).startsWith("NAME");
    String second = storedRefreshToken(file);
    assertThat(second).as("the rotated refresh token is stored").isNotEqualTo(first);
    Run again = vigil(config, "user", "list");
    assertThat(again.exit).as(again.err).isZero();
    assertThat(again.out).contains("admin");
    String third = storedRefreshToken(file);

    Run logout = vigil(config, "logout");
    assertThat(logout.exit).as(logout.err).isZero();
    assertThat(logout.out).contains("Signed out of " + server);
    assertThat(file).doesNotExist();
    HttpResponse<String> revoked =
        post(
            server + "/idp/connect/token",
            Map.of(
                "grant_type", "refresh_token", "client_id", "vigil-cli", "refresh_token", third));
    assertThat(revoked.statusCode()).isEqualTo(400);
    assertThat(revoked.body()).contains("invalid_grant");

    Run after = vigil(config, "server", "list");
    assertThat(after.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(after.err).contains("(not_signed_in)").contains("vigil login");
  }

  @Test
  void loginWithDeviceShowsACodeToApproveElsewhere(@TempDir Path config) throws Exception {
    Background login = new Background(env(config), "login", "--device");
    String userCode = login.await("enter the code\\s+([A-Z]{4}-[A-Z]{4})");
    String verification = login.await("\\s(https?://\\S+/idp/device)\\s");
    assertThat(URI.create(verification).getPath()).isEqualTo("/idp/device");

    // The person, on another device: the device page, the sign-in page, the approval.
    HttpResponse<String> entered = post(server + "/idp/device", Map.of("user_code", userCode));
    assertThat(entered.statusCode()).as(entered.body()).isEqualTo(303);
    URI authorize =
        URI.create(server + "/idp/device")
            .resolve(entered.headers().firstValue("Location").orElseThrow());
    URI callback = signInAt(authorize);
    assertThat(callback.getPath()).isEqualTo("/idp/device/callback");
    HttpResponse<String> approval =
        get(server + callback.getRawPath() + "?" + callback.getRawQuery());
    assertThat(approval.statusCode()).as(approval.body()).isEqualTo(200);
    Matcher consent =
        Pattern.compile("name=\"consent\" value=\"([^\"]+)\"").matcher(approval.body());
    assertThat(consent.find()).isTrue();
    HttpResponse<String> approved =
        post(
            server + "/idp/device/consent",
            Map.of("consent", consent.group(1), "decision", "approve"));
    assertThat(approved.statusCode()).isEqualTo(200);

    assertThat(login.exitCode()).as(login.err.toString()).isZero();
    assertThat(login.out.toString()).contains("Signed in to " + server + " as admin.");
    Run list = vigil(config, "server", "list");
    assertThat(list.exit).as(list.err).isZero();
  }

  @Test
  void aScriptGivenVigilPasswordStillUsesThePasswordGrant(@TempDir Path config) {
    Run run = new Run();
    run.env.putAll(env(config));
    run.env("VIGIL_PASSWORD", ADMIN_PASSWORD).exec("server", "list");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(config.resolve("vigil").resolve("credentials.json")).doesNotExist();
  }
}
