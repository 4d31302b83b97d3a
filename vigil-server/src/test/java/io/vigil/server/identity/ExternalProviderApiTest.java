package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code /api/v1/identity/providers} and {@code /api/v1/identity/rules}: rules and bad input. */
class ExternalProviderApiTest {

  static final String PROVIDERS = "/api/v1/identity/providers";
  static final String SECRET = "s3cret-of-the-provider";
  static final String VALID =
      "{\"name\":\"entra\",\"displayName\":\"Contoso Entra ID\","
          + "\"authority\":\"https://login.example.com/tenant/v2.0/\",\"clientId\":\"abc-123\","
          + "\"clientSecret\":\""
          + SECRET
          + "\"}";

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

  private void assertError(HttpResponse<String> r, int status, String code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(read(r).get("code").asText()).isEqualTo(code);
    assertThat(read(r).get("message").asText()).isNotBlank().doesNotContain("java.");
  }

  @Test
  void aProviderIsCreatedWithDefaultsAndItsSecretIsNeverShown() throws Exception {
    HttpResponse<String> created = call("POST", PROVIDERS, VALID);
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Location")).hasValue(PROVIDERS + "/entra");
    assertThat(created.headers().firstValue("ETag")).hasValue("\"1\"");
    JsonNode p = read(created);
    assertThat(p.get("authority").asText()).isEqualTo("https://login.example.com/tenant/v2.0");
    assertThat(p.get("clientAuthentication").asText()).isEqualTo("client_secret_basic");
    assertThat(p.get("callbackPath").asText()).isEqualTo("/signin-oidc");
    assertThat(p.get("redirectUri").asText()).isEqualTo("http://vigil.test:8080/signin-oidc");
    assertThat(p.get("scopes").toString()).isEqualTo("[\"openid\",\"profile\",\"email\"]");
    assertThat(p.get("userNameClaim").asText()).isEqualTo("preferred_username");
    assertThat(p.get("promptForLogin").asBoolean()).isFalse();
    assertThat(p.get("enabled").asBoolean()).isTrue();
    assertThat(p.get("clientSecretSet").asBoolean()).isTrue();
    assertThat(created.body()).doesNotContain(SECRET);
    assertThat(f.get(PROVIDERS, admin).body()).doesNotContain(SECRET).contains("\"entra\"");
    assertThat(f.get(PROVIDERS + "/entra", admin).body()).doesNotContain(SECRET);
    assertThat(f.get(PROVIDERS + "/nope", admin).statusCode()).isEqualTo(404);
  }

  @Test
  void unknownAndMissingFieldsAreRefused() throws Exception {
    assertError(
        call(
            "POST",
            PROVIDERS,
            VALID.replace("\"clientId\"", "\"clientSecretFile\":\"x\",\"clientId\"")),
        400,
        "unknown_field");
    assertError(call("POST", PROVIDERS, "{\"name\":\"entra\"}"), 400, "missing_field");
    assertError(
        call("POST", PROVIDERS, VALID.replace(",\"clientSecret\":\"" + SECRET + "\"", "")),
        400,
        "missing_field");
    assertError(
        call(
            "POST",
            PROVIDERS,
            VALID.replace(
                "\"clientSecret\":\"" + SECRET + "\"",
                "\"clientAuthentication\":\"private_key_jwt\"")),
        400,
        "missing_field");
    assertError(
        call("POST", PROVIDERS, "{\"name\":\"entra\",\"enabled\":\"yes\"}"), 400, "wrong_type");
    assertError(call("POST", PROVIDERS, "{\"name\":"), 400, "malformed_json");
    assertThat(f.count("identity_providers")).isZero();
  }

  @Test
  void badUrlsNamesAndValuesAreRefused() throws Exception {
    for (String authority :
        new String[] {
          "not a url",
          "ftp://login.example.com",
          "http://login.example.com",
          "https://user:pw@login.example.com",
          "https://login.example.com/?tenant=1",
          "https://login.example.com/#x",
          "/relative"
        }) {
      assertError(
          call(
              "POST",
              PROVIDERS,
              VALID.replace("https://login.example.com/tenant/v2.0/", authority)),
          400,
          "invalid_authority");
    }
    assertError(
        call("POST", PROVIDERS, VALID.replace("\"entra\"", "\"Entra ID\"")), 400, "invalid_name");
    assertError(
        call("POST", PROVIDERS, VALID.replace("{", "{\"callbackPath\":\"/api\",")),
        400,
        "invalid_callback_path");
    assertError(
        call("POST", PROVIDERS, VALID.replace("{", "{\"callbackPath\":\"/a/b\",")),
        400,
        "invalid_callback_path");
    assertError(
        call("POST", PROVIDERS, VALID.replace("{", "{\"scopes\":[\"profile\"],")),
        400,
        "invalid_scopes");
    assertError(
        call(
            "POST",
            PROVIDERS,
            VALID.replace("{", "{\"clientAuthentication\":\"tls_client_auth\",")),
        400,
        "invalid_client_authentication");
    assertError(
        call(
            "POST",
            PROVIDERS,
            VALID.replace(
                "\"clientSecret\":\"" + SECRET + "\"",
                "\"clientAuthentication\":\"private_key_jwt\",\"certificateThumbprint\":\"xyz\"")),
        400,
        "invalid_thumbprint");
    assertThat(f.count("identity_providers")).isZero();
    // Plain http is fine on loopback, where a provider runs beside the node.
    assertThat(
            call(
                    "POST",
                    PROVIDERS,
                    VALID.replace(
                        "https://login.example.com/tenant/v2.0/", "http://127.0.0.1:9/realm"))
                .statusCode())
        .isEqualTo(201);
  }

  @Test
  void aDuplicateNameIsAConflict() throws Exception {
    assertThat(call("POST", PROVIDERS, VALID).statusCode()).isEqualTo(201);
    assertError(call("POST", PROVIDERS, VALID), 409, "duplicate_name");
  }

  @Test
  void changesNeedTheCurrentRevision() throws Exception {
    call("POST", PROVIDERS, VALID);
    String path = PROVIDERS + "/entra";
    assertError(
        f.json("PATCH", path, admin, "{\"displayName\":\"X\"}", Map.of()),
        428,
        "precondition_required");
    HttpResponse<String> ok =
        f.json("PATCH", path, admin, "{\"displayName\":\"Entra\"}", Map.of("If-Match", "\"1\""));
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.headers().firstValue("ETag")).hasValue("\"2\"");
    assertThat(read(ok).get("displayName").asText()).isEqualTo("Entra");
    assertError(
        f.json("PATCH", path, admin, "{\"displayName\":\"Stale\"}", Map.of("If-Match", "\"1\"")),
        409,
        "version_conflict");
    // The revision may also come in the body, for clients that cannot set headers.
    HttpResponse<String> viaBody =
        f.json("PATCH", path, admin, "{\"enabled\":false,\"revision\":2}", Map.of());
    assertThat(viaBody.statusCode()).as(viaBody.body()).isEqualTo(200);
    assertThat(read(viaBody).get("enabled").asBoolean()).isFalse();
    assertError(
        f.json("PATCH", path, admin, "{\"name\":\"other\"}", Map.of("If-Match", "\"3\"")),
        400,
        "unknown_field");
    // Switching to private_key_jwt drops the secret and needs a thumbprint.
    assertError(
        f.json(
            "PATCH",
            path,
            admin,
            "{\"clientAuthentication\":\"private_key_jwt\"}",
            Map.of("If-Match", "\"3\"")),
        400,
        "missing_field");
    HttpResponse<String> toCert =
        f.json(
            "PATCH",
            path,
            admin,
            "{\"clientAuthentication\":\"private_key_jwt\",\"certificateThumbprint\":\""
                + "ab".repeat(20)
                + "\"}",
            Map.of("If-Match", "\"3\""));
    assertThat(toCert.statusCode()).as(toCert.body()).isEqualTo(200);
    assertThat(read(toCert).get("clientSecretSet").asBoolean()).isFalse();
    assertThat(read(toCert).get("certificateThumbprint").asText()).isEqualTo("AB".repeat(20));
  }

  @Test
  void deletingAProviderNeedsExplicitConfirmationAndRemovesItsUsersAndRules() throws Exception {
    call("POST", PROVIDERS, VALID);
    call(
        "POST",
        "/api/v1/identity/rules",
        "{\"provider\":\"entra\",\"claim\":\"groups\",\"value\":\"ops\",\"role\":\"operator\"}");
    f.idp.users().signInExternal("entra", "sub-1", "olga", "Olga", java.util.List.of());
    f.idp.users().signInExternal("entra", "sub-2", "piet", "Piet", java.util.List.of());
    assertThat(f.count("users")).isEqualTo(3);

    HttpResponse<String> unconfirmed = call("DELETE", PROVIDERS + "/entra", null);
    assertError(unconfirmed, 409, "confirmation_required");
    assertThat(read(unconfirmed).get("message").asText())
        .contains("2 user(s)")
        .contains("1 claim rule(s)")
        .contains("?confirm=entra");
    assertError(
        call("DELETE", PROVIDERS + "/entra?confirm=other", null), 409, "confirmation_required");
    assertThat(f.count("identity_providers")).isEqualTo(1);
    assertThat(f.count("users")).isEqualTo(3);

    assertThat(call("DELETE", PROVIDERS + "/entra?confirm=entra", null).statusCode())
        .isEqualTo(204);
    assertThat(f.count("identity_providers")).isZero();
    assertThat(f.count("identity_claim_rules")).isZero();
    assertThat(f.count("users")).isEqualTo(1);
    assertThat(call("DELETE", PROVIDERS + "/entra?confirm=entra", null).statusCode())
        .isEqualTo(404);
  }

  @Test
  void claimRulesValidateTheirProviderAndRole() throws Exception {
    call("POST", PROVIDERS, VALID);
    String rules = "/api/v1/identity/rules";
    String rule =
        "{\"provider\":\"entra\",\"claim\":\"groups\",\"value\":\"ops\",\"role\":\"operator\"}";
    HttpResponse<String> created = call("POST", rules, rule);
    assertThat(created.statusCode()).isEqualTo(201);
    String id = read(created).get("id").asText();
    assertError(call("POST", rules, rule), 409, "duplicate");
    assertError(call("POST", rules, rule.replace("operator", "root")), 400, "invalid_role");
    assertError(call("POST", rules, rule.replace("\"entra\"", "\"nope\"")), 404, "not_found");
    assertError(
        call("POST", rules, "{\"provider\":\"entra\",\"claim\":\"groups\"}"), 400, "missing_field");
    assertError(
        call("POST", rules, rule.replace("\"claim\"", "\"claimName\"")), 400, "unknown_field");
    assertThat(read(f.get(rules + "?provider=entra", admin)).get("items")).hasSize(1);
    assertThat(read(f.get(rules + "?provider=other", admin)).get("items")).isEmpty();
    assertThat(f.get(rules + "/" + id, admin).statusCode()).isEqualTo(200);
    assertThat(f.get(rules + "/not-a-uuid", admin).statusCode()).isEqualTo(404);
    assertThat(call("DELETE", rules + "/" + id, null).statusCode()).isEqualTo(204);
    assertThat(call("DELETE", rules + "/" + id, null).statusCode()).isEqualTo(404);
  }

  @Test
  void onlyAdministratorsMayReadOrChangeProviders() throws Exception {
    call("POST", PROVIDERS, VALID);
    call(
        "POST",
        "/api/v1/users",
        "{\"username\":\"olaf\",\"password\":\"a long enough secret\",\"roles\":[\"operator\"]}");
    String operator =
        read(f.passwordGrant("olaf", "a long enough secret", null)).get("access_token").asText();
    assertError(f.get(PROVIDERS, operator), 403, "forbidden");
    assertError(
        f.json("POST", PROVIDERS, operator, VALID.replace("entra", "x"), Map.of()),
        403,
        "forbidden");
    assertError(
        f.json("DELETE", PROVIDERS + "/entra?confirm=entra", operator, null, Map.of()),
        403,
        "forbidden");
    assertError(f.get("/api/v1/identity/rules", operator), 403, "forbidden");
    assertThat(f.get(PROVIDERS, null).statusCode()).isEqualTo(401);
  }

  @Test
  void theLastAdministratorCannotBeDeletedWithItsProvider() throws Exception {
    call("POST", PROVIDERS, VALID);
    User external =
        f.idp.users().signInExternal("entra", "sub-1", "ext-admin", "E", java.util.List.of());
    HttpResponse<String> promote =
        f.json(
            "PATCH",
            "/api/v1/users/" + external.id(),
            admin,
            "{\"roles\":[\"administrator\"]}",
            Map.of("If-Match", "\"1\""));
    assertThat(promote.statusCode()).isEqualTo(200);
    String adminId =
        read(f.get("/api/v1/users", admin)).get("items").findValues("id").stream()
            .map(JsonNode::asText)
            .filter(i -> !i.equals(external.id().toString()))
            .findFirst()
            .orElseThrow();
    assertThat(
            f.json(
                    "PATCH",
                    "/api/v1/users/" + adminId,
                    admin,
                    "{\"enabled\":false}",
                    Map.of("If-Match", "\"1\""))
                .statusCode())
        .isEqualTo(200);
    assertError(
        call("DELETE", PROVIDERS + "/entra?confirm=entra", null), 409, "last_administrator");
    assertThat(f.count("users")).isEqualTo(2);
  }
}
