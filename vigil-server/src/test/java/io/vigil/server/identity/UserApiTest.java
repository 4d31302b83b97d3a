package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UserApiTest {

  private IdpFixture f;
  private String admin;

  @BeforeEach
  void start() throws Exception {
    f = new IdpFixture(ADMIN_PASSWORD);
    admin = f.adminToken();
  }

  @AfterEach
  void stop() {
    f.close();
  }

  private HttpResponse<String> call(String method, String path, String body) throws Exception {
    return f.json(method, path, admin, body, Map.of());
  }

  private HttpResponse<String> createOperator(String name) throws Exception {
    return call(
        "POST",
        "/api/v1/users",
        "{\"username\":\""
            + name
            + "\",\"displayName\":\"Olga Operator\",\"password\":\"a long enough secret\","
            + "\"roles\":[\"operator\"]}");
  }

  @Test
  void aDisplayNameWithInvisibleOrControlCharactersOrAFieldGivenTwiceIsRefused() throws Exception {
    for (String display : List.of("Olga\\u202eevil", "Olga\\u200b", "Olga\\u0007")) {
      HttpResponse<String> r =
          call(
              "POST",
              "/api/v1/users",
              "{\"username\":\"olga\",\"displayName\":\""
                  + display
                  + "\",\"password\":\"a long enough secret\",\"roles\":[\"operator\"]}");
      assertThat(r.statusCode()).as(display).isEqualTo(400);
      assertThat(read(r).get("code").asText()).isEqualTo("invalid_display_name");
    }
    HttpResponse<String> twice =
        call(
            "POST",
            "/api/v1/users",
            "{\"username\":\"olga\",\"displayName\":\"Olga\",\"password\":\"a long enough"
                + " secret\",\"roles\":[\"operator\"],\"roles\":[\"administrator\"]}");
    assertThat(twice.statusCode()).isEqualTo(400);
    assertThat(read(twice).get("code").asText()).isEqualTo("duplicate_field");
    assertThat(read(f.get("/api/v1/users", admin)).get("items")).hasSize(1);
  }

  @Test
  void createdUserHasTheAgreedShapeAndCanSignIn() throws Exception {
    HttpResponse<String> r = createOperator("olga");
    assertThat(r.statusCode()).isEqualTo(201);
    JsonNode user = read(r);
    assertThat(user.get("username").asText()).isEqualTo("olga");
    assertThat(user.get("displayName").asText()).isEqualTo("Olga Operator");
    assertThat(user.get("roles").toString()).isEqualTo("[\"operator\"]");
    assertThat(user.get("enabled").asBoolean()).isTrue();
    assertThat(user.get("version").asLong()).isEqualTo(1);
    assertThat(user.get("createdAt").asText()).isEqualTo("2030-01-01T00:00:00Z");
    assertThat(user.has("passwordHash")).isFalse();
    assertThat(r.headers().firstValue("ETag")).hasValue("\"1\"");

    JsonNode list = read(f.get("/api/v1/users", admin));
    assertThat(list.get("items")).hasSize(2);
    assertThat(list.has("nextCursor")).isTrue();
    assertThat(list.get("nextCursor").isNull()).isTrue();

    assertThat(f.passwordGrant("OLGA", "a long enough secret", null).statusCode()).isEqualTo(200);
    JsonNode audit =
        read(f.json("GET", "/api/v1/users/" + user.get("id").asText(), admin, null, Map.of()));
    assertThat(audit.get("id").asText()).isEqualTo(user.get("id").asText());
  }

  @Test
  void duplicateNameInAnyCaseIs409AndChangesNothing() throws Exception {
    createOperator("olga");
    long before = f.count("users");
    long audit = f.count("audit_log");
    HttpResponse<String> r = createOperator("OLGA");
    assertThat(r.statusCode()).isEqualTo(409);
    assertThat(read(r).get("code").asText()).isEqualTo("duplicate");
    assertThat(read(r).get("message").asText()).contains("OLGA");
    assertThat(f.count("users")).isEqualTo(before);
    assertThat(f.count("audit_log")).isEqualTo(audit);
  }

  @Test
  void badInputIs400AndChangesNothing() throws Exception {
    long before = f.count("users");
    HttpResponse<String> unknownField =
        call(
            "POST",
            "/api/v1/users",
            "{\"username\":\"u1\",\"password\":\"a long enough secret\",\"roles\":[],\"isAdmin\":true}");
    assertThat(unknownField.statusCode()).isEqualTo(400);
    assertThat(read(unknownField).get("code").asText()).isEqualTo("unknown_field");

    HttpResponse<String> weak =
        call("POST", "/api/v1/users", "{\"username\":\"u1\",\"password\":\"short\",\"roles\":[]}");
    assertThat(weak.statusCode()).isEqualTo(400);
    assertThat(read(weak).get("code").asText()).isEqualTo("weak_password");
    assertThat(read(weak).get("message").asText()).contains("12");

    HttpResponse<String> role =
        call(
            "POST",
            "/api/v1/users",
            "{\"username\":\"u1\",\"password\":\"a long enough secret\",\"roles\":[\"root\"]}");
    assertThat(role.statusCode()).isEqualTo(400);
    assertThat(read(role).get("code").asText()).isEqualTo("invalid_role");

    HttpResponse<String> wrongType =
        call(
            "POST",
            "/api/v1/users",
            "{\"username\":\"u1\",\"password\":\"a long enough secret\",\"roles\":\"operator\"}");
    assertThat(wrongType.statusCode()).isEqualTo(400);
    assertThat(f.count("users")).isEqualTo(before);

    assertThat(f.get("/api/v1/users/not-a-uuid", admin).statusCode()).isEqualTo(404);
    assertThat(f.get("/api/v1/users/" + java.util.UUID.randomUUID(), admin).statusCode())
        .isEqualTo(404);
  }

  @Test
  void patchNeedsTheCurrentVersion() throws Exception {
    String id = read(createOperator("olga")).get("id").asText();
    String path = "/api/v1/users/" + id;

    HttpResponse<String> missing = call("PATCH", path, "{\"displayName\":\"X\"}");
    assertThat(missing.statusCode()).isEqualTo(428);
    assertThat(read(missing).get("code").asText()).isEqualTo("precondition_required");

    HttpResponse<String> ok =
        f.json("PATCH", path, admin, "{\"roles\":[\"viewer\"]}", Map.of("If-Match", "\"1\""));
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(read(ok).get("version").asLong()).isEqualTo(2);
    assertThat(ok.headers().firstValue("ETag")).hasValue("\"2\"");

    long audit = f.count("audit_log");
    HttpResponse<String> stale =
        f.json("PATCH", path, admin, "{\"displayName\":\"Stale\"}", Map.of("If-Match", "\"1\""));
    assertThat(stale.statusCode()).isEqualTo(409);
    assertThat(read(stale).get("code").asText()).isEqualTo("version_conflict");
    JsonNode now = read(f.get(path, admin));
    assertThat(now.get("displayName").asText()).isEqualTo("Olga Operator");
    assertThat(now.get("version").asLong()).isEqualTo(2);
    assertThat(f.count("audit_log")).isEqualTo(audit);

    HttpResponse<String> byBody = call("PATCH", path, "{\"enabled\":false,\"version\":2}");
    assertThat(byBody.statusCode()).isEqualTo(200);
    assertThat(f.passwordGrant("olga", "a long enough secret", null).statusCode()).isEqualTo(400);
  }

  @Test
  void theLastEnabledAdministratorCannotBeDeletedDisabledOrDemoted() throws Exception {
    JsonNode me = read(f.get("/api/v1/users", admin)).get("items").get(0);
    String path = "/api/v1/users/" + me.get("id").asText();
    HttpResponse<String> delete = call("DELETE", path, null);
    assertThat(delete.statusCode()).isEqualTo(409);
    assertThat(read(delete).get("code").asText()).isEqualTo("last_administrator");
    HttpResponse<String> disable =
        f.json("PATCH", path, admin, "{\"enabled\":false}", Map.of("If-Match", "\"1\""));
    assertThat(disable.statusCode()).isEqualTo(409);
    assertThat(f.count("users")).isEqualTo(1);

    // With a second administrator, the first may go.
    call(
        "POST",
        "/api/v1/users",
        "{\"username\":\"ada\",\"password\":\"a long enough secret\",\"roles\":[\"administrator\"]}");
    assertThat(call("DELETE", path, null).statusCode()).isEqualTo(204);
    assertThat(f.count("users")).isEqualTo(1);
  }

  @Test
  void passwordChangeEndsOldSessions() throws Exception {
    String id = read(createOperator("olga")).get("id").asText();
    String refresh =
        read(f.passwordGrant("olga", "a long enough secret", null)).get("refresh_token").asText();
    HttpResponse<String> weak =
        call("PUT", "/api/v1/users/" + id + "/password", "{\"password\":\"short\"}");
    assertThat(weak.statusCode()).isEqualTo(400);
    HttpResponse<String> r =
        call(
            "PUT",
            "/api/v1/users/" + id + "/password",
            "{\"password\":\"another long passphrase\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(f.passwordGrant("olga", "another long passphrase", null).statusCode())
        .isEqualTo(200);
    HttpResponse<String> oldSession =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type", "refresh_token", "client_id", "vigil-cli", "refresh_token", refresh),
            null);
    assertThat(oldSession.statusCode()).isEqualTo(400);
  }

  @Test
  void clientsApiListsBuiltInsAndRefusesToDeleteThem() throws Exception {
    JsonNode list = read(f.get("/api/v1/clients", admin));
    assertThat(list.get("items").findValuesAsText("clientId"))
        .containsExactly("vigil-cli", "vigil-console");
    JsonNode console = list.get("items").get(1);
    assertThat(console.get("type").asText()).isEqualTo("public");
    assertThat(console.get("redirectUris").toString())
        .contains("http://vigil.test:8080/console/callback", "http://127.0.0.1/callback")
        .doesNotContain("localhost");

    HttpResponse<String> del = call("DELETE", "/api/v1/clients/vigil-cli", null);
    assertThat(del.statusCode()).isEqualTo(409);
    assertThat(read(del).get("code").asText()).isEqualTo("built_in");

    call("POST", "/api/v1/clients", "{\"clientId\":\"mobile-1\",\"roles\":[\"component\"]}");
    HttpResponse<String> dup =
        call("POST", "/api/v1/clients", "{\"clientId\":\"mobile-1\",\"roles\":[\"component\"]}");
    assertThat(dup.statusCode()).isEqualTo(409);
    assertThat(call("DELETE", "/api/v1/clients/mobile-1", null).statusCode()).isEqualTo(204);
    assertThat(f.get("/api/v1/clients/mobile-1", admin).statusCode()).isEqualTo(404);
  }

  @Test
  void viewerCannotManageUsers() throws Exception {
    call(
        "POST",
        "/api/v1/users",
        "{\"username\":\"vic\",\"password\":\"a long enough secret\",\"roles\":[\"viewer\"]}");
    String viewer =
        read(f.passwordGrant("vic", "a long enough secret", null)).get("access_token").asText();
    HttpResponse<String> r = f.get("/api/v1/users", viewer);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(f.get("/api/v1/users", null).statusCode()).isEqualTo(401);
  }

  @Test
  void aRefusedPermissionIsAudited() throws Exception {
    call(
        "POST",
        "/api/v1/users",
        "{\"username\":\"vic\",\"password\":\"a long enough secret\",\"roles\":[\"viewer\"]}");
    String viewer =
        read(f.passwordGrant("vic", "a long enough secret", null)).get("access_token").asText();
    assertThat(f.get("/api/v1/users", viewer).statusCode()).isEqualTo(403);

    var entries =
        new io.vigil.server.audit.AuditLog(f.db.jdbi())
            .query(null, "route", "GET /api/v1/users", 10)
            .items();
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).action()).isEqualTo("permission.refused");
    assertThat(entries.get(0).actor()).isEqualTo("vic");
    assertThat(entries.get(0).address()).isEqualTo("127.0.0.1");
    assertThat(entries.get(0).after().toString()).contains("\"permission\":\"users_read\"");
  }
}
