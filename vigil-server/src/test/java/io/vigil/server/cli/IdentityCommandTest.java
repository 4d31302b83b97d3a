package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IdentityCommandTest {

  static final String ENTRA =
      """
      {"name":"entra","displayName":"Contoso","authority":"https://login.example.com/t/v2.0",
       "clientId":"abc","clientAuthentication":"client_secret_post","clientSecretSet":true,
       "certificateThumbprint":null,"callbackPath":"/signin-oidc",
       "redirectUri":"https://vigil.example.com/signin-oidc","scopes":["openid","profile"],
       "userNameClaim":"preferred_username","promptForLogin":false,"enabled":true,"revision":4,
       "createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z"}""";
  static final String CONFIRM =
      "{\"code\":\"confirmation_required\",\"message\":\"Deleting provider \\\"entra\\\" also"
          + " deletes the 3 user(s) it signed in and its 2 claim rule(s).\"}";

  FakeNode node;

  @BeforeEach
  void start() throws Exception {
    node = new FakeNode().signIn();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  Run vigil() {
    return new Run().env("VIGIL_SERVER", node.url()).env("VIGIL_PASSWORD", "s3cret");
  }

  @Test
  void providerAddSendsTheSecretFromStdinAndNeverPrintsIt() throws Exception {
    node.on("POST /api/v1/identity/providers", 201, ENTRA);
    Run run =
        vigil()
            .stdin("the-client-secret\n")
            .exec(
                "identity",
                "provider",
                "add",
                "entra",
                "--display-name",
                "Contoso",
                "--authority",
                "https://login.example.com/t/v2.0",
                "--client-id",
                "abc",
                "--client-authentication",
                "client_secret_post",
                "--scope",
                "openid",
                "--scope",
                "profile",
                "--client-secret-stdin");
    assertThat(run.exit).as(run.err).isZero();
    JsonNode sent = Json.MAPPER.readTree(node.apiRequests().get(0).body());
    assertThat(sent.path("name").asText()).isEqualTo("entra");
    assertThat(sent.path("clientSecret").asText()).isEqualTo("the-client-secret");
    assertThat(sent.path("scopes").toString()).isEqualTo("[\"openid\",\"profile\"]");
    assertThat(sent.has("enabled")).isFalse();
    assertThat(run.out).contains("https://vigil.example.com/signin-oidc");
    assertThat(run.out + run.err).doesNotContain("the-client-secret");
  }

  @Test
  void providerAddWithoutASecretSourceFailsBeforeSendingAnything() {
    Run run =
        vigil()
            .exec(
                "identity",
                "provider",
                "add",
                "entra",
                "--authority",
                "https://x.example",
                "--client-id",
                "abc");
    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("--client-secret-stdin").contains("(no_secret)");
    assertThat(node.apiRequests()).isEmpty();
  }

  @Test
  void removeWithoutYesAndWithoutATerminalDeletesNothingAndSaysWhatWouldGo() {
    node.on("DELETE /api/v1/identity/providers/entra", 409, CONFIRM);
    node.on("DELETE /api/v1/identity/providers/entra?confirm=entra", 204, "");
    Run run = vigil().exec("identity", "provider", "remove", "entra");
    assertThat(run.exit).isEqualTo(ExitCodes.CONFLICT);
    assertThat(run.err)
        .contains("3 user(s)")
        .contains("2 claim rule(s)")
        .contains("--yes")
        .contains("(confirmation_required)");
    assertThat(node.apiRequests())
        .extracting(FakeNode.Request::uri)
        .doesNotContain("/api/v1/identity/providers/entra?confirm=entra");
  }

  @Test
  void removeWithYesConfirmsAtOnce() {
    node.on("DELETE /api/v1/identity/providers/entra?confirm=entra", 204, "");
    Run run = vigil().exec("identity", "provider", "remove", "entra", "--yes");
    assertThat(run.exit).as(run.err).isZero();
    assertThat(node.apiRequests())
        .extracting(FakeNode.Request::uri)
        .containsExactly("/api/v1/identity/providers/entra?confirm=entra");
  }

  @Test
  void removeAtATerminalAsksForTheNameFirst() {
    node.on("DELETE /api/v1/identity/providers/entra", 409, CONFIRM);
    node.on("DELETE /api/v1/identity/providers/entra?confirm=entra", 204, "");
    Run wrong = vigil().typing().stdin("other\n").exec("identity", "provider", "remove", "entra");
    assertThat(wrong.exit).isEqualTo(ExitCodes.CONFLICT);
    assertThat(wrong.out).contains("3 user(s)").contains("Type the provider's name");
    assertThat(node.apiRequests()).hasSize(1);

    Run right = vigil().typing().stdin("entra\n").exec("identity", "provider", "remove", "entra");
    assertThat(right.exit).as(right.err).isZero();
    assertThat(node.apiRequests().get(node.apiRequests().size() - 1).uri())
        .isEqualTo("/api/v1/identity/providers/entra?confirm=entra");
  }

  @Test
  void updateSendsOnlyTheChangedFieldsWithTheCurrentRevision() throws Exception {
    node.on("GET /api/v1/identity/providers/entra", 200, ENTRA);
    node.on(
        "PATCH /api/v1/identity/providers/entra",
        200,
        ENTRA.replace("\"revision\":4", "\"revision\":5"));
    Run run =
        vigil().exec("identity", "provider", "update", "entra", "--no-enabled", "--prompt-login");
    assertThat(run.exit).as(run.err).isZero();
    JsonNode sent = Json.MAPPER.readTree(node.apiRequests().get(1).body());
    assertThat(sent.toString())
        .isEqualTo("{\"promptForLogin\":true,\"enabled\":false,\"revision\":4}");
    assertThat(run.out).contains("revision 5");
  }

  @Test
  void ruleAddChecksTheRoleLocallyAndListPrintsATable() {
    Run bad =
        vigil()
            .exec(
                "identity",
                "rule",
                "add",
                "--provider",
                "entra",
                "--claim",
                "groups",
                "--value",
                "ops",
                "--role",
                "root");
    assertThat(bad.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(node.apiRequests()).isEmpty();

    node.on(
        "GET /api/v1/identity/rules?provider=entra",
        200,
        "{\"items\":[{\"id\":\"r-1\",\"provider\":\"entra\",\"claim\":\"groups\",\"value\":\"ops\","
            + "\"role\":\"operator\",\"createdAt\":\"2025-01-01T00:00:00Z\"}],\"nextCursor\":null}");
    Run list = vigil().exec("identity", "rule", "list", "--provider", "entra");
    assertThat(list.exit).as(list.err).isZero();
    assertThat(list.out.lines().toList())
        .containsExactly(
            "PROVIDER  CLAIM   VALUE  ROLE      ID", "entra     groups  ops    operator  r-1");
  }
}
