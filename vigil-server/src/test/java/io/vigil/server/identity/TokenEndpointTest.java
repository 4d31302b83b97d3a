package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TokenEndpointTest {

  private IdpFixture f;

  @BeforeEach
  void start() {
    f = new IdpFixture(ADMIN_PASSWORD);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  @Test
  void discoveryNamesTheEndpointsAndJwksServesThePublicKeyOnly() throws Exception {
    JsonNode meta = read(f.get("/idp/.well-known/openid-configuration", null));
    assertThat(meta.get("issuer").asText()).isEqualTo("http://vigil.test:8080/idp");
    assertThat(meta.get("token_endpoint").asText())
        .isEqualTo("http://vigil.test:8080/idp/connect/token");
    assertThat(meta.get("jwks_uri").asText())
        .isEqualTo("http://vigil.test:8080/idp/.well-known/jwks.json");
    assertThat(meta.get("code_challenge_methods_supported").toString()).isEqualTo("[\"S256\"]");

    JsonNode jwks = read(f.get("/idp/.well-known/jwks.json", null));
    assertThat(jwks.get("keys")).hasSize(1);
    JsonNode key = jwks.get("keys").get(0);
    assertThat(key.get("kty").asText()).isEqualTo("RSA");
    assertThat(key.has("kid")).isTrue();
    assertThat(key.has("d")).isFalse();
    assertThat(key.has("p")).isFalse();
  }

  @Test
  void passwordGrantIssuesAnAccessTokenTheApiAccepts() throws Exception {
    HttpResponse<String> r = f.passwordGrant("ADMIN", ADMIN_PASSWORD, null);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = read(r);
    assertThat(body.get("token_type").asText()).isEqualTo("Bearer");
    assertThat(body.get("expires_in").asLong()).isEqualTo(300);
    assertThat(body.has("refresh_token")).isTrue();
    assertThat(body.has("id_token")).isTrue();
    String access = body.get("access_token").asText();
    var claims = SignedJWT.parse(access).getJWTClaimsSet();
    assertThat(claims.getAudience()).containsExactly("vigil-api");
    assertThat(claims.getStringListClaim("roles")).containsExactly("administrator");
    assertThat(claims.getStringClaim("preferred_username")).isEqualTo("admin");
    assertThat(claims.getStringClaim("client_id")).isEqualTo("vigil-cli");
    assertThat(claims.getJWTID()).isNotBlank();

    assertThat(f.get("/api/v1/users", access).statusCode()).isEqualTo(200);
    JsonNode info = read(f.get("/idp/connect/userinfo", access));
    assertThat(info.get("preferred_username").asText()).isEqualTo("admin");
  }

  @Test
  void wrongPasswordAndUnknownUserGetTheSameInvalidGrant() throws Exception {
    HttpResponse<String> wrong = f.passwordGrant("admin", "not the password!!", null);
    HttpResponse<String> unknown = f.passwordGrant("nobody", "not the password!!", null);
    assertThat(wrong.statusCode()).isEqualTo(400);
    assertThat(read(wrong).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(read(unknown).get("error_description").asText())
        .isEqualTo(read(wrong).get("error_description").asText());
    assertThat(wrong.body()).doesNotContain("not the password");
  }

  @Test
  void malformedTokenRequestsGetOAuthErrors() throws Exception {
    HttpResponse<String> noGrant =
        f.form("/idp/connect/token", Map.of("client_id", "vigil-cli"), null);
    assertThat(noGrant.statusCode()).isEqualTo(400);
    assertThat(read(noGrant).get("error").asText()).isEqualTo("invalid_request");

    HttpResponse<String> badScope = f.passwordGrant("admin", ADMIN_PASSWORD, "vigil.api root");
    assertThat(read(badScope).get("error").asText()).isEqualTo("invalid_scope");

    HttpResponse<String> unknownClient =
        f.form(
            "/idp/connect/token",
            Map.of("grant_type", "password", "client_id", "x", "username", "a", "password", "b"),
            null);
    assertThat(unknownClient.statusCode()).isEqualTo(401);
    assertThat(read(unknownClient).get("error").asText()).isEqualTo("invalid_client");
  }

  @Test
  void tamperedTokensAreRejectedWith401Json() throws Exception {
    String token = f.adminToken();
    String[] parts = token.split("\\.");
    String badSignature = parts[0] + "." + parts[1] + "." + flip(parts[2], 10);
    String badPayload = parts[0] + "." + flip(parts[1], 20) + "." + parts[2];
    for (String tampered : List.of(badSignature, badPayload)) {
      HttpResponse<String> r = f.get("/api/v1/users", tampered);
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(read(r).get("code").asText()).isEqualTo("unauthorized");
      assertThat(r.body()).doesNotContain(parts[2]);
    }
    assertThat(read(f.get("/api/v1/users", badSignature)).get("message").asText())
        .contains("signature");
    HttpResponse<String> garbage = f.get("/api/v1/users", "not-a-jwt");
    assertThat(garbage.statusCode()).isEqualTo(401);
    assertThat(read(garbage).get("message").asText()).contains("malformed");
  }

  @Test
  void expiredTokenIsRejectedAfterTheSkew() throws Exception {
    String token = f.adminToken();
    f.clock.advance(Duration.ofSeconds(300 + 20));
    assertThat(f.get("/api/v1/users", token).statusCode()).isEqualTo(200);
    f.clock.advance(Duration.ofSeconds(15));
    HttpResponse<String> r = f.get("/api/v1/users", token);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(read(r).get("message").asText()).contains("expired");
  }

  @Test
  void idTokenIsRejectedForTheApiAsNotAnAccessToken() throws Exception {
    String idToken = read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("id_token").asText();
    HttpResponse<String> r = f.get("/api/v1/users", idToken);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(read(r).get("message").asText()).contains("not an access token");
  }

  @Test
  void aClientSecretIsStoredAsItsHashAloneSoTheDatabaseAndKeyRingCannotGiveItBack()
      throws Exception {
    String admin = f.adminToken();
    HttpResponse<String> created =
        f.json(
            "POST",
            "/api/v1/clients",
            admin,
            "{\"clientId\":\"recorder-2\",\"roles\":[\"component\"]}",
            Map.of());
    String secret = read(created).get("clientSecret").asText();
    assertThat(storedSecret("recorder-2")).containsExactly(Secrets.sha256(secret), null);
    f.json("POST", "/api/v1/clients/recorder-2/secret", admin, null, Map.of());
    assertThat(storedSecret("recorder-2").get(1)).isNull();
  }

  @Test
  void aSecretStoredEncryptedByAnEarlierVersionWorksAndIsHashedWhenTheProviderStarts()
      throws Exception {
    String admin = f.adminToken();
    f.json(
        "POST",
        "/api/v1/clients",
        admin,
        "{\"clientId\":\"recorder-3\",\"roles\":[\"component\"]}",
        Map.of());
    String secret = Secrets.random256();
    byte[] sealed =
        f.protector.protect(
            ClientService.SECRET_PURPOSE, secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    f.db
        .jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "UPDATE oauth_clients SET secret_hash = NULL, secret_protected = :sealed"
                            + " WHERE client_id = 'recorder-3'")
                    .bind("sealed", sealed)
                    .execute());
    assertThat(clientCredentials("recorder-3", secret)).isEqualTo(200);

    restartProvider();

    assertThat(storedSecret("recorder-3")).containsExactly(Secrets.sha256(secret), null);
    assertThat(clientCredentials("recorder-3", secret)).isEqualTo(200);
    assertThat(clientCredentials("recorder-3", secret + "x")).isEqualTo(401);
  }

  private int clientCredentials(String clientId, String secret) throws Exception {
    return f.form(
            "/idp/connect/token",
            Map.of("grant_type", "client_credentials"),
            clientId + ":" + secret)
        .statusCode();
  }

  private List<String> storedSecret(String clientId) {
    return f.db
        .jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT secret_hash, secret_protected FROM oauth_clients WHERE client_id ="
                            + " :id")
                    .bind("id", clientId)
                    .map(
                        (rs, c) ->
                            java.util.Arrays.asList(
                                rs.getString(1), rs.getBytes(2) == null ? null : "encrypted"))
                    .one());
  }

  @Test
  void confidentialClientGetsTokensWithBasicAndPostButNotWithAWrongSecret() throws Exception {
    String admin = f.adminToken();
    HttpResponse<String> created =
        f.json(
            "POST",
            "/api/v1/clients",
            admin,
            "{\"clientId\":\"recorder-1\",\"roles\":[\"component\"]}",
            Map.of());
    assertThat(created.statusCode()).isEqualTo(201);
    String secret = read(created).get("clientSecret").asText();
    assertThat(read(f.get("/api/v1/clients/recorder-1", admin)).has("clientSecret")).isFalse();

    HttpResponse<String> basic =
        f.form(
            "/idp/connect/token",
            Map.of("grant_type", "client_credentials"),
            "recorder-1:" + secret);
    assertThat(basic.statusCode()).isEqualTo(200);
    JsonNode body = read(basic);
    assertThat(body.has("refresh_token")).isFalse();
    var claims = SignedJWT.parse(body.get("access_token").asText()).getJWTClaimsSet();
    assertThat(claims.getSubject()).isEqualTo("recorder-1");
    assertThat(claims.getStringListClaim("roles")).containsExactly("component");

    HttpResponse<String> post =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type",
                "client_credentials",
                "client_id",
                "recorder-1",
                "client_secret",
                secret),
            null);
    assertThat(post.statusCode()).isEqualTo(200);
    // A component may not manage users.
    assertThat(f.get("/api/v1/users", read(post).get("access_token").asText()).statusCode())
        .isEqualTo(403);

    HttpResponse<String> wrong =
        f.form("/idp/connect/token", Map.of("grant_type", "client_credentials"), "recorder-1:nope");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(read(wrong).get("error").asText()).isEqualTo("invalid_client");
    assertThat(wrong.headers().firstValue("WWW-Authenticate")).isPresent();

    HttpResponse<String> rotated =
        f.json("POST", "/api/v1/clients/recorder-1/secret", admin, null, Map.of());
    assertThat(rotated.statusCode()).isEqualTo(200);
    assertThat(
            f.form(
                    "/idp/connect/token",
                    Map.of("grant_type", "client_credentials"),
                    "recorder-1:" + secret)
                .statusCode())
        .isEqualTo(401);
  }

  @Test
  void aClientChangedWhileAnotherNodeHadTheRoleIsReadAgainWhenThisNodeTakesIt() throws Exception {
    String admin = f.adminToken();
    String old =
        read(f.json(
                "POST",
                "/api/v1/clients",
                admin,
                "{\"clientId\":\"recorder-1\",\"roles\":[\"component\"]}",
                Map.of()))
            .get("clientSecret")
            .asText();
    Map<String, String> grant = Map.of("grant_type", "client_credentials");
    assertThat(f.form("/idp/connect/token", grant, "recorder-1:" + old).statusCode())
        .isEqualTo(200);
    // Another node, owner for a while, rotated the secret; this node's cache did not hear of it.
    String next = Secrets.random256();
    f.db
        .jdbi()
        .useHandle(
            h ->
                h.createUpdate("UPDATE oauth_clients SET secret_hash = :hash WHERE client_id = :id")
                    .bind("hash", Secrets.sha256(next))
                    .bind("id", "recorder-1")
                    .execute());

    f.idp.start();

    assertThat(f.form("/idp/connect/token", grant, "recorder-1:" + old).statusCode())
        .isEqualTo(401);
    assertThat(f.form("/idp/connect/token", grant, "recorder-1:" + next).statusCode())
        .isEqualTo(200);
  }

  @Test
  void passwordGrantIsRefusedToTheConsoleClient() throws Exception {
    HttpResponse<String> r =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type",
                "password",
                "client_id",
                "vigil-console",
                "username",
                "admin",
                "password",
                ADMIN_PASSWORD),
            null);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(read(r).get("error").asText()).isEqualTo("unauthorized_client");
  }

  @Test
  void authorizationCodeWithS256IsSingleUse() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    HttpResponse<String> page = f.get(authorizeQuery(verifier, "S256", redirect), null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(page.body()).contains("<form").contains("name=\"code_challenge\"");

    String code = signInAndGetCode(verifier, redirect);
    HttpResponse<String> tokens = exchange(code, verifier.getValue(), redirect);
    assertThat(tokens.statusCode()).isEqualTo(200);
    var claims = SignedJWT.parse(read(tokens).get("access_token").asText()).getJWTClaimsSet();
    assertThat(claims.getStringClaim("client_id")).isEqualTo("vigil-console");
    var idClaims = SignedJWT.parse(read(tokens).get("id_token").asText()).getJWTClaimsSet();
    assertThat(idClaims.getStringClaim("nonce")).isEqualTo("n-0S6_WzA2Mj");

    HttpResponse<String> again = exchange(code, verifier.getValue(), redirect);
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(read(again).get("error").asText()).isEqualTo("invalid_grant");
  }

  /** RFC 6749 4.1.2: a code used twice may have been intercepted; what it produced is revoked. */
  @Test
  void aReplayedAuthorizationCodeRevokesTheSessionItStarted() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    String code = signInAndGetCode(verifier, redirect);
    HttpResponse<String> tokens = exchange(code, verifier.getValue(), redirect);
    String refresh = read(tokens).get("refresh_token").asText();

    HttpResponse<String> again = exchange(code, verifier.getValue(), redirect);
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(read(again).get("error_description").asText()).contains("already used");
    assertThat(refresh(refresh, "vigil-console").statusCode()).isEqualTo(400);
  }

  @Test
  void aReplayedAuthorizationCodeIsAuditedAsTokenReuse() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    String code = signInAndGetCode(verifier, redirect);
    assertThat(exchange(code, verifier.getValue(), redirect).statusCode()).isEqualTo(200);

    assertThat(exchange(code, verifier.getValue(), redirect).statusCode()).isEqualTo(400);

    List<io.vigil.server.audit.AuditLog.Entry> reuse =
        new io.vigil.server.audit.AuditLog(f.db.jdbi())
            .query(null, "session", null, 100).items().stream()
                .filter(e -> e.action().equals("token.reuse"))
                .toList();
    assertThat(reuse).hasSize(1);
    assertThat(reuse.get(0).actor()).isEqualTo("admin");
    assertThat(reuse.get(0).address()).isEqualTo("127.0.0.1");
    assertThat(reuse.get(0).after().toString()).contains("authorization_code");
  }

  /** OIDC Core 2: auth_time is when the user authenticated, which a refresh does not change. */
  @Test
  void anIdTokenIssuedOnRefreshCarriesTheTimeTheUserSignedIn() throws Exception {
    HttpResponse<String> first =
        f.passwordGrant("admin", ADMIN_PASSWORD, "openid offline_access vigil.api");
    long signedIn = authTime(read(first).get("id_token").asText());
    f.clock.advance(Duration.ofMinutes(10));

    HttpResponse<String> refreshed = refresh(read(first).get("refresh_token").asText());
    assertThat(refreshed.statusCode()).isEqualTo(200);
    assertThat(authTime(read(refreshed).get("id_token").asText())).isEqualTo(signedIn);
    f.clock.advance(Duration.ofMinutes(10));
    HttpResponse<String> again = refresh(read(refreshed).get("refresh_token").asText());
    assertThat(authTime(read(again).get("id_token").asText())).isEqualTo(signedIn);
  }

  private static long authTime(String idToken) throws Exception {
    return SignedJWT.parse(idToken).getJWTClaimsSet().getLongClaim("auth_time");
  }

  /** A nonce over what the database keeps failed with a 500 only after the user's password. */
  @Test
  void anOverlongNonceOrARepeatedParameterIsRefusedBeforeTheSignInPage() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    String query = authorizeQuery(verifier, "S256", redirect);
    for (String bad :
        List.of(
            query.replace("nonce=n-0S6_WzA2Mj", "nonce=" + "n".repeat(501)),
            query + "&scope=openid")) {
      HttpResponse<String> r = f.get(bad, null);
      assertThat(r.statusCode()).as(bad.substring(0, 60)).isEqualTo(302);
      assertThat(r.headers().firstValue("Location").orElseThrow())
          .startsWith(redirect + "?")
          .contains("error=invalid_request");
    }
  }

  @Test
  void aRequestObjectIsRefusedRatherThanIgnored() throws Exception {
    JsonNode meta = read(f.get("/idp/.well-known/openid-configuration", null));
    assertThat(meta.get("request_uri_parameter_supported").asBoolean()).isFalse();
    assertThat(meta.path("request_parameter_supported").asBoolean(false)).isFalse();

    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    String query = authorizeQuery(verifier, "S256", redirect);
    HttpResponse<String> r = f.get(query + "&request_uri=https%3A%2F%2Fevil.example%2Fr", null);
    assertThat(r.statusCode()).isEqualTo(302);
    assertThat(r.headers().firstValue("Location").orElseThrow())
        .startsWith(redirect + "?")
        .contains("error=request_uri_not_supported");
  }

  @Test
  void tokenRequestsWithNulRepeatedOrOverlongParametersAreRefused() throws Exception {
    String password = java.net.URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8);
    String valid = "grant_type=password&client_id=vigil-cli&username=admin&password=" + password;
    assertThat(f.rawForm("/idp/connect/token", valid, null).statusCode()).isEqualTo(200);
    for (String bad :
        List.of(
            valid.replace("grant_type=password", "grant_type=password%00"),
            valid.replace("client_id=vigil-cli", "client_id=vigil-cli%00"),
            valid + "&grant_type=password",
            valid + "&username=someone-else",
            valid + "&scope=" + "vigil.api%20".repeat(200),
            valid.replace("username=admin", "username=ad%ZZmin"))) {
      HttpResponse<String> r = f.rawForm("/idp/connect/token", bad, null);
      assertThat(r.statusCode()).as(bad.substring(0, Math.min(80, bad.length()))).isEqualTo(400);
      assertThat(read(r).get("error").asText()).isEqualTo("invalid_request");
      assertThat(r.body()).hasSizeLessThan(500);
    }
  }

  @Test
  void basicAuthenticationForOneClientWithClientIdOfAnotherIsRefused() throws Exception {
    String admin = f.adminToken();
    String secret = null;
    for (String id : List.of("camera-agent", "other-agent")) {
      HttpResponse<String> created =
          f.json(
              "POST",
              "/api/v1/clients",
              admin,
              "{\"clientId\":\"" + id + "\",\"roles\":[\"component\"]}",
              Map.of());
      if (secret == null) {
        secret = read(created).get("clientSecret").asText();
      }
    }
    String body = "grant_type=client_credentials&scope=vigil.api";
    assertThat(f.rawForm("/idp/connect/token", body, "camera-agent:" + secret).statusCode())
        .isEqualTo(200);
    assertThat(
            f.rawForm(
                    "/idp/connect/token",
                    body + "&client_id=camera-agent",
                    "camera-agent:" + secret)
                .statusCode())
        .isEqualTo(200);

    for (String extra : List.of("&client_id=other-agent", "&client_secret=" + secret)) {
      HttpResponse<String> r =
          f.rawForm("/idp/connect/token", body + extra, "camera-agent:" + secret);
      assertThat(r.statusCode()).as(extra).isEqualTo(400);
      assertThat(read(r).get("error").asText()).isEqualTo("invalid_request");
    }
  }

  @Test
  void wrongVerifierIsRejected() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:40000/callback";
    String code = signInAndGetCode(verifier, redirect);
    HttpResponse<String> r = exchange(code, new CodeVerifier().getValue(), redirect);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(read(r).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(read(r).get("error_description").asText()).contains("code_verifier");
  }

  @Test
  void plainPkceAndUnregisteredRedirectsAreRefused() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    HttpResponse<String> plain = f.get(authorizeQuery(verifier, "plain", redirect), null);
    assertThat(plain.statusCode()).isEqualTo(302);
    String location = plain.headers().firstValue("Location").orElseThrow();
    assertThat(location)
        .startsWith(redirect)
        .contains("error=invalid_request")
        .contains("state=xyz");

    HttpResponse<String> evil =
        f.get(authorizeQuery(verifier, "S256", "https://evil.example/callback"), null);
    assertThat(evil.statusCode()).isEqualTo(400);
    assertThat(evil.headers().firstValue("Location")).isEmpty();
  }

  /**
   * RFC 8252 7.3 and RFC 9700 2.1: a loopback redirect is an IP literal, any port, the registered
   * path exactly; {@code localhost} may resolve elsewhere.
   */
  @Test
  void loopbackRedirectsMatchAnyPortButOnlyTheRegisteredPathOnIpLiterals() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    for (String allowed :
        List.of(
            "http://127.0.0.1:53111/callback",
            "http://127.0.0.1:1/callback",
            "http://[::1]:8/callback")) {
      assertThat(f.get(authorizeQuery(verifier, "S256", allowed), null).statusCode())
          .as(allowed)
          .isEqualTo(200);
    }
    for (String refused :
        List.of(
            "http://localhost:53111/callback",
            "http://127.0.0.1:53111/other",
            "http://127.0.0.1:53111/callback/x",
            "http://127.0.0.1:53111/callback?x=1",
            "https://127.0.0.1:53111/callback",
            "http://user@127.0.0.1:53111/callback")) {
      HttpResponse<String> r = f.get(authorizeQuery(verifier, "S256", refused), null);
      assertThat(r.statusCode()).as(refused).isEqualTo(400);
      assertThat(r.headers().firstValue("Location")).as(refused).isEmpty();
    }
  }

  @Test
  void refreshTokensRotateAndReuseAfterTheSuccessorWasUsedRevokesTheFamily() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    HttpResponse<String> r1 = refresh(first);
    assertThat(r1.statusCode()).isEqualTo(200);
    String second = read(r1).get("refresh_token").asText();
    assertThat(second).isNotEqualTo(first);
    HttpResponse<String> r2 = refresh(second);
    assertThat(r2.statusCode()).isEqualTo(200);
    String third = read(r2).get("refresh_token").asText();

    HttpResponse<String> reuse = refresh(first);
    assertThat(reuse.statusCode()).isEqualTo(400);
    assertThat(read(reuse).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(read(reuse).get("error_description").asText()).contains("already used");

    // The reuse revoked the whole family, including the token the rightful client holds.
    HttpResponse<String> afterReuse = refresh(third);
    assertThat(afterReuse.statusCode()).isEqualTo(400);
    assertThat(read(afterReuse).get("error_description").asText()).contains("revoked");
  }

  @Test
  void aReusedRefreshTokenIsAudited() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    String second = read(refresh(first)).get("refresh_token").asText();
    assertThat(refresh(second).statusCode()).isEqualTo(200);
    assertThat(refresh(first).statusCode()).isEqualTo(400);

    var entries =
        new io.vigil.server.audit.AuditLog(f.db.jdbi()).query(null, "session", null, 10).items();
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).action()).isEqualTo("token.reuse");
    assertThat(entries.get(0).actor()).isEqualTo("admin");
    assertThat(entries.get(0).address()).isEqualTo("127.0.0.1");
    assertThat(entries.get(0).after().toString()).contains("vigil-cli");
  }

  @Test
  void withoutAReuseGraceAnyReuseRevokesTheFamilyAtOnce() throws Exception {
    f.settings.identity.refreshTokenReuseGraceSeconds = 0;
    restartProvider();
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    String second = read(refresh(first)).get("refresh_token").asText();

    assertThat(read(refresh(first)).get("error_description").asText()).contains("already used");
    assertThat(read(refresh(second)).get("error_description").asText()).contains("revoked");
  }

  @Test
  void aClientWhoseRefreshResponseWasLostRetriesTheSameTokenAndKeepsItsSession() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    String lost = read(refresh(first)).get("refresh_token").asText();

    HttpResponse<String> retry = refresh(first);
    assertThat(retry.statusCode()).isEqualTo(200);
    String replacement = read(retry).get("refresh_token").asText();
    assertThat(replacement).isNotEqualTo(lost);
    HttpResponse<String> secondRetry = refresh(first);
    assertThat(secondRetry.statusCode()).isEqualTo(200);
    String latest = read(secondRetry).get("refresh_token").asText();

    assertThat(refresh(latest).statusCode()).isEqualTo(200);
  }

  @Test
  void aSuccessorRetiredByARetryRevokesTheFamilyWhenItIsPresentedLater() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    String retired = read(refresh(first)).get("refresh_token").asText();
    String replacement = read(refresh(first)).get("refresh_token").asText();

    // Two parties hold successors of one token: one of them copied it.
    HttpResponse<String> stale = refresh(retired);
    assertThat(stale.statusCode()).isEqualTo(400);
    assertThat(read(stale).get("error_description").asText()).contains("already used");
    assertThat(read(refresh(replacement)).get("error_description").asText()).contains("revoked");
  }

  @Test
  void redeemingARefreshTokenAndStoringItsSuccessorIsOneFencedWrite() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    f.fence.depose(1);

    HttpResponse<String> r = refresh(first);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(read(r).get("refresh_token").asText()).isNotBlank();
  }

  @Test
  void aRefreshRefusedByTheFenceLeavesTheTokenUnusedForTheNextOwner() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    f.fence.depose(0);

    HttpResponse<String> refused = refresh(first);
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(usedRefreshTokens()).isZero();

    f.fence.open();
    HttpResponse<String> retried = refresh(first);
    assertThat(retried.statusCode()).isEqualTo(200);
    assertThat(refresh(read(retried).get("refresh_token").asText()).statusCode()).isEqualTo(200);
  }

  @Test
  void aRefreshThatAsksForMoreScopeLeavesTheTokenUsable() throws Exception {
    String first =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, "openid vigil.api offline_access"))
            .get("refresh_token")
            .asText();
    HttpResponse<String> wider =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type", "refresh_token",
                "client_id", "vigil-cli",
                "refresh_token", first,
                "scope", "openid profile vigil.api offline_access"),
            null);
    assertThat(wider.statusCode()).isEqualTo(400);
    assertThat(read(wider).get("error").asText()).isEqualTo("invalid_scope");
    assertThat(usedRefreshTokens()).isZero();
    assertThat(refresh(first).statusCode()).isEqualTo(200);
  }

  @Test
  void redeemingACodeAndStoringItsRefreshTokenIsOneFencedWrite() throws Exception {
    CodeVerifier verifier = new CodeVerifier();
    String redirect = "http://127.0.0.1:53111/callback";
    String code = signInAndGetCode(verifier, redirect);
    f.fence.depose(1);

    HttpResponse<String> tokens = exchange(code, verifier.getValue(), redirect);

    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    f.fence.open();
    assertThat(refresh(read(tokens).get("refresh_token").asText(), "vigil-console").statusCode())
        .isEqualTo(200);
  }

  @Test
  void noRefreshTokenWithoutOfflineAccess() throws Exception {
    JsonNode body = read(f.passwordGrant("admin", ADMIN_PASSWORD, "vigil.api"));
    assertThat(body.has("refresh_token")).isFalse();
    assertThat(body.has("id_token")).isFalse();
    assertThat(body.get("scope").asText()).isEqualTo("vigil.api");
  }

  @Test
  void afterTheFreeFailuresTheNextAttemptFromThatAddressWaitsEvenWithTheRightPassword()
      throws Exception {
    for (int i = 0; i < LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay(); i++) {
      assertThat(f.passwordGrant("admin", "wrong password " + i, null).statusCode()).isEqualTo(400);
    }
    HttpResponse<String> locked = f.passwordGrant("admin", ADMIN_PASSWORD, null);
    assertThat(locked.statusCode()).isEqualTo(429);
    assertThat(read(locked).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(read(locked).get("error_description").asText()).contains("Too many failed");
    assertThat(locked.headers().firstValue("Retry-After")).hasValue("1");

    f.clock.advance(Duration.ofSeconds(1));
    assertThat(f.passwordGrant("admin", ADMIN_PASSWORD, null).statusCode()).isEqualTo(200);
  }

  @Test
  void passwordChecksBeyondTheBoundAreRefusedWithRetryAfter() throws Exception {
    f.settings.identity.passwordChecksAtOnce = 2;
    f.settings.identity.passwordCheckWaitMillis = 0;
    restartProvider();
    int held = f.idp.passwordChecks().permits().drainPermits();
    assertThat(held).isEqualTo(2);
    try {
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> busy = f.passwordGrant("admin", ADMIN_PASSWORD, null);
        assertThat(busy.statusCode()).isEqualTo(503);
        assertThat(read(busy).get("error").asText()).isEqualTo("temporarily_unavailable");
        assertThat(read(busy).get("error_description").asText()).doesNotContain("Exception");
        assertThat(busy.headers().firstValue("Retry-After")).hasValue("1");
      }
      Map<String, String> form = new LinkedHashMap<>(signInForm());
      form.put("password", ADMIN_PASSWORD);
      HttpResponse<String> page = f.form("/idp/connect/authorize", form, null);
      assertThat(page.statusCode()).isEqualTo(503);
      assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
      assertThat(page.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(page.body()).contains("try again in a moment");
    } finally {
      f.idp.passwordChecks().permits().release(held);
    }
    // Refused checks are not failures: the user is not delayed.
    assertThat(f.passwordGrant("admin", ADMIN_PASSWORD, null).statusCode()).isEqualTo(200);
  }

  @Test
  void aClientBeyondItsRateIsRefusedWithRetryAfter() throws Exception {
    f.settings.identity.tokenRequestsPerMinute = 3;
    restartProvider();
    for (int i = 0; i < 3; i++) {
      assertThat(f.passwordGrant("admin", ADMIN_PASSWORD, null).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> slow = f.passwordGrant("admin", ADMIN_PASSWORD, null);
    assertThat(slow.statusCode()).isEqualTo(429);
    assertThat(read(slow).get("error").asText()).isEqualTo("slow_down");
    assertThat(slow.headers().firstValue("Retry-After")).hasValue("20");
    Map<String, String> form = new LinkedHashMap<>(signInForm());
    form.put("client_id", "vigil-console");
    form.put("password", ADMIN_PASSWORD);
    // Another client at the same address has a bucket of its own.
    assertThat(f.form("/idp/connect/authorize", form, null).statusCode()).isEqualTo(302);

    f.clock.advance(Duration.ofSeconds(20));
    assertThat(f.passwordGrant("admin", ADMIN_PASSWORD, null).statusCode()).isEqualTo(200);
  }

  @Test
  void revokedRefreshTokenCannotBeUsed() throws Exception {
    String token =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    HttpResponse<String> r =
        f.form(
            "/idp/connect/revocation",
            Map.of("token", token, "token_type_hint", "refresh_token", "client_id", "vigil-cli"),
            null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(refresh(token).statusCode()).isEqualTo(400);
  }

  @Test
  void aRefreshTokenRevokedWithoutATypeHintCannotBeUsed() throws Exception {
    String token =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    HttpResponse<String> r =
        f.form("/idp/connect/revocation", Map.of("token", token, "client_id", "vigil-cli"), null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(refresh(token).statusCode()).isEqualTo(400);
  }

  @Test
  void aRefreshTokenRevokedWithTheAccessTokenHintIsStillFoundAndRevoked() throws Exception {
    // RFC 7009 2.1: a wrong hint only costs the server a wider search.
    String token =
        read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
    HttpResponse<String> r =
        f.form(
            "/idp/connect/revocation",
            Map.of("token", token, "token_type_hint", "access_token", "client_id", "vigil-cli"),
            null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(refresh(token).statusCode()).isEqualTo(400);
  }

  private HttpResponse<String> refresh(String token) throws Exception {
    return refresh(token, "vigil-cli");
  }

  private HttpResponse<String> refresh(String token, String clientId) throws Exception {
    return f.form(
        "/idp/connect/token",
        Map.of("grant_type", "refresh_token", "client_id", clientId, "refresh_token", token),
        null);
  }

  private long usedRefreshTokens() {
    return f.db
        .jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT COUNT(*) FROM refresh_tokens WHERE used = TRUE")
                    .mapTo(Long.class)
                    .one());
  }

  private void restartProvider() {
    f.http.close();
    f.idp = f.newProvider(ADMIN_PASSWORD);
    f.idp.start();
    f.http = f.serve(f.idp);
  }

  private String authorizeQuery(CodeVerifier verifier, String method, String redirect) {
    String challenge =
        "plain".equals(method)
            ? verifier.getValue()
            : CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue();
    Map<String, String> q = new LinkedHashMap<>();
    q.put("response_type", "code");
    q.put("client_id", "vigil-console");
    q.put("redirect_uri", redirect);
    q.put("scope", "openid vigil.api offline_access");
    q.put("state", "xyz");
    q.put("nonce", "n-0S6_WzA2Mj");
    q.put("code_challenge", challenge);
    q.put("code_challenge_method", method);
    return "/idp/connect/authorize?" + IdpFixture.encode(q);
  }

  private Map<String, String> signInForm() {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("response_type", "code");
    form.put("client_id", "vigil-console");
    form.put("redirect_uri", "http://127.0.0.1:5000/callback");
    form.put("scope", "openid vigil.api offline_access");
    form.put("state", "xyz");
    form.put(
        "code_challenge",
        CodeChallenge.compute(CodeChallengeMethod.S256, new CodeVerifier()).getValue());
    form.put("code_challenge_method", "S256");
    form.put("username", "admin");
    return form;
  }

  private String signInAndGetCode(CodeVerifier verifier, String redirect) throws Exception {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("response_type", "code");
    form.put("client_id", "vigil-console");
    form.put("redirect_uri", redirect);
    form.put("scope", "openid vigil.api offline_access");
    form.put("state", "xyz");
    form.put("nonce", "n-0S6_WzA2Mj");
    form.put(
        "code_challenge", CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue());
    form.put("code_challenge_method", "S256");
    form.put("username", "admin");
    form.put("password", "wrong password!");
    HttpResponse<String> wrong = f.form("/idp/connect/authorize", form, null);
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("wrong");
    form.put("password", ADMIN_PASSWORD);
    HttpResponse<String> r = f.form("/idp/connect/authorize", form, null);
    assertThat(r.statusCode()).isEqualTo(302);
    URI location = URI.create(r.headers().firstValue("Location").orElseThrow());
    assertThat(location.toString()).startsWith(redirect + "?");
    assertThat(location.getQuery()).contains("state=xyz");
    return java.util.Arrays.stream(location.getRawQuery().split("&"))
        .filter(p -> p.startsWith("code="))
        .map(p -> java.net.URLDecoder.decode(p.substring(5), StandardCharsets.UTF_8))
        .findFirst()
        .orElseThrow();
  }

  private HttpResponse<String> exchange(String code, String verifier, String redirect)
      throws Exception {
    return f.form(
        "/idp/connect/token",
        Map.of(
            "grant_type",
            "authorization_code",
            "client_id",
            "vigil-console",
            "code",
            code,
            "redirect_uri",
            redirect,
            "code_verifier",
            verifier),
        null);
  }

  private static String flip(String s, int index) {
    char c = s.charAt(index);
    char replacement = c == 'A' ? 'B' : 'A';
    return s.substring(0, index) + replacement + s.substring(index + 1);
  }
}
