package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static io.vigil.server.identity.MfaFixture.PASSWORD;
import static io.vigil.server.identity.MfaFixture.code;
import static io.vigil.server.identity.MfaFixture.wrong;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import io.vigil.server.audit.AuditLog;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MfaSignInTest {

  private static final String REDIRECT = "http://127.0.0.1:53111/callback";
  private static final Pattern STATE = Pattern.compile("name=\"mfa_state\" value=\"([^\"]+)\"");

  private IdpFixture f;
  private MfaFixture m;

  @BeforeEach
  void start() {
    f = new IdpFixture(ADMIN_PASSWORD);
    m = new MfaFixture(f);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  @Test
  void thePasswordGrantNeedsTheCodeAndRefusesItTwice() throws Exception {
    String id = m.createUser("olga", "viewer");
    MfaFixture.Enrolled e = m.enrolAndConfirm(m.token("olga"));

    HttpResponse<String> without = m.passwordGrant("olga", null);
    assertThat(without.statusCode()).isEqualTo(400);
    assertThat(read(without).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(read(without).get("error_description").asText())
        .startsWith("mfa_required")
        .contains("one-time code");
    // The wrong password still says only that the password is wrong.
    HttpResponse<String> wrongPassword = f.passwordGrant("olga", "not the password!!", null);
    assertThat(read(wrongPassword).get("error_description").asText()).doesNotContain("mfa");

    HttpResponse<String> wrongCode = m.passwordGrant("olga", wrong(code(e.secret(), 1)));
    assertThat(wrongCode.statusCode()).isEqualTo(400);
    assertThat(read(wrongCode).get("error").asText()).isEqualTo("invalid_grant");

    String next = code(e.secret(), 1);
    HttpResponse<String> with = m.passwordGrant("olga", next);
    assertThat(with.statusCode()).isEqualTo(200);
    var idToken = SignedJWT.parse(read(with).get("id_token").asText()).getJWTClaimsSet();
    assertThat(idToken.getStringListClaim("amr")).containsExactly("pwd", "otp");
    assertThat(m.passwordGrant("olga", next).statusCode()).isEqualTo(400);

    // The otp parameter works as well as totp.
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", "olga");
    params.put("password", PASSWORD);
    params.put("otp", e.recoveryCodes().get(0));
    assertThat(f.form("/idp/connect/token", params, null).statusCode()).isEqualTo(200);

    List<AuditLog.Entry> audit = m.audit(id);
    assertThat(audit)
        .anySatisfy(
            a -> {
              assertThat(a.action()).isEqualTo("user.signin");
              assertThat(a.after().toString()).contains("password+totp");
            })
        .anySatisfy(
            a -> {
              assertThat(a.action()).isEqualTo("user.signin.failed");
              assertThat(a.after().toString()).contains("wrong_code");
              assertThat(a.address()).isEqualTo("127.0.0.1");
            });
  }

  @Test
  void withoutMfaTheIdTokenSaysPasswordOnly() throws Exception {
    HttpResponse<String> r = f.passwordGrant("admin", ADMIN_PASSWORD, null);
    var idToken = SignedJWT.parse(read(r).get("id_token").asText()).getJWTClaimsSet();
    assertThat(idToken.getStringListClaim("amr")).containsExactly("pwd");
  }

  @Test
  void theSignInPageAsksForTheCodeAfterThePasswordAndCompletesTheSameRequest() throws Exception {
    m.createUser("olga", "viewer");
    MfaFixture.Enrolled e = m.enrolAndConfirm(m.token("olga"));
    CodeVerifier verifier = new CodeVerifier();

    HttpResponse<String> second = f.form("/idp/connect/authorize", signInForm(verifier), null);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.body())
        .contains("action=\"otp\"")
        .contains("autocomplete=\"one-time-code\"")
        .doesNotContain("name=\"password\"");
    String state = state(second);

    HttpResponse<String> wrongCode = otp(state, wrong(code(e.secret(), 1)));
    assertThat(wrongCode.statusCode()).isEqualTo(401);
    assertThat(wrongCode.body()).contains("4 attempts are left");
    assertThat(state(wrongCode)).isEqualTo(state);

    HttpResponse<String> done = otp(state, code(e.secret(), 1));
    assertThat(done.statusCode()).isEqualTo(302);
    URI location = URI.create(done.headers().firstValue("Location").orElseThrow());
    assertThat(location.toString()).startsWith(REDIRECT + "?");
    assertThat(location.getQuery()).contains("state=xyz");
    String code =
        java.util.Arrays.stream(location.getRawQuery().split("&"))
            .filter(p -> p.startsWith("code="))
            .map(p -> java.net.URLDecoder.decode(p.substring(5), StandardCharsets.UTF_8))
            .findFirst()
            .orElseThrow();
    HttpResponse<String> tokens =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type",
                "authorization_code",
                "client_id",
                "vigil-console",
                "code",
                code,
                "redirect_uri",
                REDIRECT,
                "code_verifier",
                verifier.getValue()),
            null);
    assertThat(tokens.statusCode()).isEqualTo(200);
    var idToken = SignedJWT.parse(read(tokens).get("id_token").asText()).getJWTClaimsSet();
    assertThat(idToken.getStringListClaim("amr")).containsExactly("pwd", "otp");
    assertThat(idToken.getStringClaim("preferred_username")).isEqualTo("olga");

    // The state is used up.
    HttpResponse<String> again = otp(state, e.recoveryCodes().get(0));
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(again.body()).contains("Sign in again");
  }

  @Test
  void theSecondStepEndsAfterFiveWrongCodesAndExpires() throws Exception {
    m.createUser("olga", "viewer");
    MfaFixture.Enrolled e = m.enrolAndConfirm(m.token("olga"));
    String state = state(f.form("/idp/connect/authorize", signInForm(new CodeVerifier()), null));
    String bad = wrong(code(e.secret(), 1));
    for (int i = 0; i < 4; i++) {
      assertThat(otp(state, bad).statusCode()).isEqualTo(401);
    }
    HttpResponse<String> last = otp(state, bad);
    assertThat(last.statusCode()).isEqualTo(400);
    assertThat(last.body()).contains("Too many wrong codes");
    // Even the right code no longer completes it.
    assertThat(otp(state, e.recoveryCodes().get(0)).statusCode()).isEqualTo(400);

    String old = state(f.form("/idp/connect/authorize", signInForm(new CodeVerifier()), null));
    f.db
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE mfa_signin_states SET created_at = created_at - INTERVAL '6' MINUTE"));
    assertThat(otp(old, e.recoveryCodes().get(0)).statusCode()).isEqualTo(400);
    assertThat(f.count("user_mfa_recovery_codes")).isEqualTo(10);
  }

  @Test
  void whenTheSiteRequiresMfaAnAdministratorWithoutItMayOnlyEnrol() throws Exception {
    new io.vigil.server.management.SiteSettings(f.fence)
        .update(
            new io.vigil.server.security.Principal(
                "system", "system", "system", java.util.Set.of(), java.util.Set.of()),
            1,
            new io.vigil.server.management.SiteSettings.Change(null, null, true));
    HttpResponse<String> signedIn = f.passwordGrant("admin", ADMIN_PASSWORD, null);
    assertThat(signedIn.statusCode()).isEqualTo(200);
    JsonNode body = read(signedIn);
    assertThat(body.get("mfa_enrolment_required").asBoolean()).isTrue();
    String token = body.get("access_token").asText();
    var claims = SignedJWT.parse(token).getJWTClaimsSet();
    assertThat(claims.getStringListClaim("roles")).isEmpty();

    HttpResponse<String> refused = f.get("/api/v1/users", token);
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(
            f.json("POST", "/api/v1/clients", token, "{\"clientId\":\"x\",\"roles\":[]}", Map.of())
                .statusCode())
        .isEqualTo(403);

    MfaFixture.Enrolled e = m.enrolAndConfirm(token);
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", "admin");
    params.put("password", ADMIN_PASSWORD);
    params.put("totp", code(e.secret(), 1));
    HttpResponse<String> full = f.form("/idp/connect/token", params, null);
    assertThat(full.statusCode()).as(full.body()).isEqualTo(200);
    assertThat(read(full).has("mfa_enrolment_required")).isFalse();
    String admin = read(full).get("access_token").asText();
    assertThat(SignedJWT.parse(admin).getJWTClaimsSet().getStringListClaim("roles"))
        .containsExactly("administrator");
    assertThat(f.get("/api/v1/users", admin).statusCode()).isEqualTo(200);
  }

  @Test
  void theSiteSettingLeavesOtherUsersAlone() throws Exception {
    m.createUser("vic", "viewer");
    f.db
        .jdbi()
        .useHandle(
            h -> h.execute("UPDATE site_settings SET require_mfa_for_administrators = TRUE"));
    String token = m.token("vic");
    assertThat(SignedJWT.parse(token).getJWTClaimsSet().getStringListClaim("roles"))
        .containsExactly("viewer");
  }

  private HttpResponse<String> otp(String state, String code) throws Exception {
    return f.form("/idp/connect/otp", Map.of("mfa_state", state, "code", code), null);
  }

  private static String state(HttpResponse<String> page) {
    Matcher matcher = STATE.matcher(page.body());
    assertThat(matcher.find()).as(page.body()).isTrue();
    return matcher.group(1);
  }

  private static Map<String, String> signInForm(CodeVerifier verifier) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("response_type", "code");
    form.put("client_id", "vigil-console");
    form.put("redirect_uri", REDIRECT);
    form.put("scope", "openid vigil.api offline_access");
    form.put("state", "xyz");
    form.put("nonce", "n-0S6_WzA2Mj");
    form.put(
        "code_challenge", CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue());
    form.put("code_challenge_method", "S256");
    form.put("username", "olga");
    form.put("password", PASSWORD);
    return form;
  }
}
