package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.db.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.Test;

/** External providers, rules, sign-in states and provider deletion on PostgreSQL. */
class ExternalSignInPostgresIT {

  @Test
  void externalSignInRulesAndDeletionWorkOnPostgres() throws Exception {
    MockOAuth2Server mock = new MockOAuth2Server();
    mock.start();
    try (EmbeddedPostgres pg = EmbeddedPostgres.start();
        IdpFixture f =
            new IdpFixture(
                ADMIN_PASSWORD,
                Database.open(pg.getJdbcUrl("postgres", "postgres"), "postgres", null, 6))) {
      String admin = f.adminToken();
      HttpResponse<String> created =
          f.json(
              "POST",
              "/api/v1/identity/providers",
              admin,
              "{\"name\":\"idp1\",\"displayName\":\"Contoso ID\",\"authority\":\""
                  + ExternalLogin.authority(mock, "idp1")
                  + "\",\"clientId\":\"vigil\",\"clientSecret\":\"pg-secret\"}",
              Map.of());
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      assertThat(
              f.json(
                      "PATCH",
                      "/api/v1/identity/providers/idp1",
                      admin,
                      "{\"displayName\":\"Contoso ID\",\"scopes\":[\"openid\",\"profile\"]}",
                      Map.of("If-Match", "\"1\""))
                  .statusCode())
          .isEqualTo(200);
      HttpResponse<String> rule =
          f.json(
              "POST",
              "/api/v1/identity/rules",
              admin,
              "{\"provider\":\"idp1\",\"claim\":\"groups\",\"value\":\"ops\",\"role\":\"operator\"}",
              Map.of());
      assertThat(rule.statusCode()).as(rule.body()).isEqualTo(201);

      for (List<String> groups : List.of(List.of("ops"), List.<String>of())) {
        mock.enqueueCallback(
            new DefaultOAuth2TokenCallback(
                "idp1",
                "sub-1",
                "JWT",
                List.of("vigil"),
                Map.of("preferred_username", "olga", "groups", groups),
                3600));
        ExternalLogin login = new ExternalLogin(f);
        var tokens = login.redeem(login.signIn("Contoso ID"));
        List<String> roles =
            SignedJWT.parse(tokens.get("access_token").asText())
                .getJWTClaimsSet()
                .getStringListClaim("roles");
        assertThat(roles).isEqualTo(groups.isEmpty() ? List.of() : List.of("operator"));
        HttpResponse<String> replay = login.followCallback(true);
        assertThat(read(replay).get("code").asText()).isEqualTo("unknown_state");
      }
      assertThat(read(f.get("/api/v1/users", admin)).get("items")).hasSize(2);

      HttpResponse<String> unconfirmed =
          f.json("DELETE", "/api/v1/identity/providers/idp1", admin, null, Map.of());
      assertThat(read(unconfirmed).get("code").asText()).isEqualTo("confirmation_required");
      assertThat(
              f.json(
                      "DELETE",
                      "/api/v1/identity/providers/idp1?confirm=idp1",
                      admin,
                      null,
                      Map.of())
                  .statusCode())
          .isEqualTo(204);
      assertThat(f.count("users")).isEqualTo(1);
      assertThat(f.count("identity_claim_rules")).isZero();
    } finally {
      mock.shutdown();
    }
  }
}
