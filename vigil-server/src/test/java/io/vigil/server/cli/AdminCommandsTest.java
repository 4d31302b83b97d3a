package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminCommandsTest {

  static final String ALICE =
      """
      {"id":"7f9c","username":"alice","displayName":"Alice Liddell","roles":["operator","viewer"],
       "enabled":true,"version":1,"createdAt":"2025-03-01T10:15:30.123456Z","updatedAt":null}""";
  static final String ADMIN =
      """
      {"id":"0001","username":"admin","displayName":null,"roles":["administrator"],
       "enabled":true,"version":3,"createdAt":"2025-01-01T00:00:00Z","updatedAt":null}""";

  FakeNode node;

  @BeforeEach
  void start() throws Exception {
    node = new FakeNode().signIn();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  Run vigil(String... args) {
    return new Run().env("VIGIL_SERVER", node.url()).env("VIGIL_PASSWORD", "s3cret").exec(args);
  }

  @Test
  void userListSignsInWithThePasswordGrantAndPrintsAnAlignedTable() {
    node.on(
        "GET /api/v1/users", 200, "{\"items\":[" + ADMIN + "," + ALICE + "],\"nextCursor\":null}");

    Run run = vigil("user", "list");

    assertThat(run.exit).isZero();
    assertThat(run.err).isEmpty();
    Map<String, String> form = form(node.requests.get(0).body());
    assertThat(form)
        .containsEntry("grant_type", "password")
        .containsEntry("client_id", "vigil-cli")
        .containsEntry("username", "admin")
        .containsEntry("password", "s3cret")
        .containsEntry("scope", "openid vigil.api");
    assertThat(node.apiRequests())
        .singleElement()
        .extracting(FakeNode.Request::authorization)
        .isEqualTo("Bearer tok-123");
    assertThat(run.out.lines().toList())
        .containsExactly(
            "USERNAME  DISPLAY NAME   ROLES            ENABLED  CREATED               ID",
            "admin     -              administrator    yes      2025-01-01T00:00:00Z  0001",
            "alice     Alice Liddell  operator,viewer  yes      2025-03-01T10:15:30Z  7f9c");
  }

  @Test
  void userListFollowsNextCursorAndJsonPrintsAllItems() {
    node.on("GET /api/v1/users", 200, "{\"items\":[" + ADMIN + "],\"nextCursor\":\"c2\"}");
    node.on("GET /api/v1/users?cursor=c2", 200, "{\"items\":[" + ALICE + "],\"nextCursor\":null}");

    Run run = vigil("user", "list", "--json");

    assertThat(run.exit).isZero();
    JsonNode printed = parse(run.out);
    assertThat(printed.path("items")).hasSize(2);
    assertThat(printed.path("items").get(1).path("username").asText()).isEqualTo("alice");
    assertThat(printed.path("nextCursor").isNull()).isTrue();
  }

  @Test
  void userAddPostsTheUserWithRolesAndThePasswordReadFromStdin() {
    node.on("POST /api/v1/users", 201, ALICE);

    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .stdin("Wonder land 1!\nignored second line\n")
            .exec(
                "user",
                "add",
                "alice",
                "--role",
                "operator",
                "--role",
                "viewer",
                "--display-name",
                "Alice Liddell",
                "--password-stdin");

    assertThat(run.exit).as(run.err).isZero();
    JsonNode sent = parse(node.apiRequests().get(0).body());
    assertThat(sent.path("username").asText()).isEqualTo("alice");
    assertThat(sent.path("displayName").asText()).isEqualTo("Alice Liddell");
    assertThat(sent.path("password").asText()).isEqualTo("Wonder land 1!");
    assertThat(sent.path("roles").toString()).isEqualTo("[\"operator\",\"viewer\"]");
    assertThat(run.out).contains("Created user alice (id 7f9c, roles operator,viewer)");
    assertThat(run.out).doesNotContain("Wonder");
  }

  @Test
  void userAddWithoutRoleGrantsViewerAndAsksTwiceAtTheTerminal() {
    node.on("POST /api/v1/users", 201, ALICE);

    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "admin-pass")
            .typing("pw-for-alice", "pw-for-alice")
            .exec("user", "add", "alice");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(form(node.requests.get(0).body())).containsEntry("password", "admin-pass");
    JsonNode sent = parse(node.apiRequests().get(0).body());
    assertThat(sent.path("roles").toString()).isEqualTo("[\"viewer\"]");
    assertThat(sent.path("password").asText()).isEqualTo("pw-for-alice");
  }

  @Test
  void mistypedRepeatOfTheNewPasswordChangesNothing() {
    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .typing("one", "two")
            .exec("user", "add", "alice");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("(password_mismatch)");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void unknownRoleIsAUsageErrorAndNothingIsSent() {
    Run run = vigil("user", "add", "alice", "--role", "superuser", "--password-stdin");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("unknown role \"superuser\"").contains("administrator, operator");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void wrongPasswordExitsThreeWithTheIdentityProvidersMessage() {
    node.on(
        "POST /idp/connect/token",
        400,
        "{\"error\":\"invalid_grant\",\"error_description\":\"Wrong user name or password.\"}");

    Run run = vigil("user", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(run.err).isEqualTo("error: Wrong user name or password. (invalid_grant)\n");
    assertThat(node.apiRequests()).isEmpty();
  }

  @Test
  void aNodeWithoutTokenEndpointIsAGenericErrorNotNotFound() {
    node.on("POST /idp/connect/token", 404, "{\"code\":\"not_found\",\"message\":\"No resource\"}");

    Run run = vigil("user", "remove", "alice");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .contains("identity provider is not running")
        .contains("(no_identity_provider)");
  }

  @Test
  void expiredTokenOnTheApiExitsThree() {
    node.on(
        "GET /api/v1/servers",
        401,
        "{\"code\":\"unauthorized\",\"message\":\"The bearer token has expired.\"}");

    Run run = vigil("server", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(run.err).isEqualTo("error: The bearer token has expired. (unauthorized)\n");
  }

  @Test
  void withoutPasswordOrSignInAndWithoutTerminalItAsksForVigilPasswordOrLogin() {
    Run run = new Run().env("VIGIL_SERVER", node.url()).exec("user", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(run.err)
        .contains("VIGIL_PASSWORD")
        .contains("\"vigil login --server " + node.url() + "\"")
        .contains("(not_signed_in)");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void atATerminalWithoutSignInItSaysToRunLoginAndNeverAsksForThePassword() {
    Run run = new Run().typing("a password").exec("user", "list", "--server", node.url());

    assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(run.err)
        .startsWith("error: Not signed in to " + node.url() + ": run \"vigil login --server ")
        .contains("(not_signed_in)");
    assertThat(run.typed).containsExactly("a password");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void duplicateUserExitsFiveWithTheServersCode() {
    node.on(
        "POST /api/v1/users",
        409,
        "{\"code\":\"username_taken\",\"message\":\"User \\\"alice\\\" already exists.\"}");

    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .stdin("pw\n")
            .exec("user", "add", "alice", "--password-stdin");

    assertThat(run.exit).isEqualTo(ExitCodes.CONFLICT);
    assertThat(run.err).isEqualTo("error: User \"alice\" already exists. (username_taken)\n");
  }

  @Test
  void passwdFindsTheUserByNameAndPutsTheNewPassword() {
    node.on(
        "GET /api/v1/users", 200, "{\"items\":[" + ADMIN + "," + ALICE + "],\"nextCursor\":null}");
    node.on("PUT /api/v1/users/7f9c/password", 204, "");

    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .stdin("n3w\n")
            .exec("user", "passwd", "alice", "--password-stdin");

    assertThat(run.exit).as(run.err).isZero();
    FakeNode.Request put = node.apiRequests().get(1);
    assertThat(put.method()).isEqualTo("PUT");
    assertThat(parse(put.body()).path("password").asText()).isEqualTo("n3w");
    assertThat(run.out).isEqualTo("Changed the password of alice.\n");
  }

  @Test
  void removingAnUnknownUserExitsFourAndDeletesNothing() {
    node.on("GET /api/v1/users", 200, "{\"items\":[" + ADMIN + "],\"nextCursor\":null}");

    Run run = vigil("user", "remove", "bob");

    assertThat(run.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run.err).contains("No user named \"bob\"").contains("(user_not_found)");
    assertThat(node.apiRequests()).extracting(FakeNode.Request::method).containsOnly("GET");
  }

  @Test
  void removeDeletesByIdAndServerNotFoundExitsFour() {
    node.on("GET /api/v1/users", 200, "{\"items\":[" + ALICE + "],\"nextCursor\":null}");
    node.on("DELETE /api/v1/users/7f9c", 204, "");
    assertThat(vigil("user", "remove", "alice").out).isEqualTo("Removed user alice.\n");

    node.on("DELETE /api/v1/users/7f9c", 404, "{\"code\":\"not_found\",\"message\":\"gone\"}");
    Run again = vigil("user", "remove", "alice");
    assertThat(again.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(again.err).isEqualTo("error: gone (not_found)\n");
  }

  @Test
  void serverListShowsStatusAndLastSeen() {
    node.on(
        "GET /api/v1/servers",
        200,
        """
        {"items":[{"id":"s1","name":"rec-01","type":"recording-server","address":"http://10.0.0.5:7563",
        "status":"online","version":"1.2.0","revision":4,"registeredAt":"2025-01-01T00:00:00Z",
        "lastSeenAt":"2025-03-01T10:15:30.5Z"}],"nextCursor":null}""");

    Run run = vigil("server", "list");

    assertThat(run.exit).isZero();
    assertThat(run.out.lines().toList())
        .containsExactly(
            "NAME    TYPE              ADDRESS               STATUS  VERSION  LAST SEEN             ID",
            "rec-01  recording-server  http://10.0.0.5:7563  online  1.2.0    2025-03-01T10:15:30Z  s1");
  }

  @Test
  void serverErrorWithoutJsonStillNamesTheStatus() {
    node.on("GET /api/v1/servers", 502, "<html>Bad gateway</html>");

    Run run = vigil("server", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("HTTP 502").contains(node.url());
  }

  @Test
  void unreachableNodeIsNamedWithAWayToStartOne() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }

    Run run =
        new Run()
            .env("VIGIL_PASSWORD", "x")
            .exec("user", "list", "--server", "http://127.0.0.1:" + closedPort);

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .startsWith("error: Cannot connect to a Vigil node at http://127.0.0.1:" + closedPort)
        .contains("vigil start-dev")
        .contains("--server")
        .endsWith("(unreachable)\n");
  }

  @Test
  void badServerUrlIsAUsageError() {
    Run run = new Run().exec("server", "list", "--server", "ftp://x");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("\"ftp://x\" is not a node URL");
  }

  @Test
  void userOptionAndEnvironmentChooseWhoSignsIn() {
    node.on("GET /api/v1/servers", 200, "{\"items\":[],\"nextCursor\":null}");

    new Run()
        .env("VIGIL_SERVER", node.url())
        .env("VIGIL_PASSWORD", "p")
        .env("VIGIL_USER", "ops")
        .exec("server", "list");
    vigil("server", "list", "--user", "carol");

    assertThat(node.requests.stream().filter(r -> r.uri().startsWith("/idp")))
        .extracting(r -> form(r.body()).get("username"))
        .containsExactly("ops", "carol");
  }

  static JsonNode parse(String json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }

  static Map<String, String> form(String body) {
    return Arrays.stream(body.split("&"))
        .map(p -> p.split("=", 2))
        .collect(
            Collectors.toMap(
                p -> URLDecoder.decode(p[0], StandardCharsets.UTF_8),
                p -> URLDecoder.decode(p[1], StandardCharsets.UTF_8)));
  }
}
