package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static io.vigil.server.identity.MfaFixture.actions;
import static io.vigil.server.identity.MfaFixture.code;
import static io.vigil.server.identity.MfaFixture.wrong;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.audit.AuditLog;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MfaApiTest {

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
  void enrolmentIsConfirmedByACodeAndShowsRecoveryCodesOnceButNeverTheSecret() throws Exception {
    String id = m.createUser("olga", "viewer");
    String token = m.token("olga");

    HttpResponse<String> enrolled = f.json("POST", "/api/v1/me/mfa/totp", token, null, Map.of());
    assertThat(enrolled.statusCode()).isEqualTo(201);
    String secret = read(enrolled).get("secret").asText();
    assertThat(Base32.decode(secret)).hasSize(20);
    assertThat(read(enrolled).get("otpauthUri").asText())
        .isEqualTo("otpauth://totp/Vigil:olga?secret=" + secret + "&issuer=Vigil");
    // Pending: not enabled, and sign-in needs no code yet.
    assertThat(m.user(id).get("mfa").get("enabled").asBoolean()).isFalse();
    assertThat(m.passwordGrant("olga", null).statusCode()).isEqualTo(200);

    HttpResponse<String> wrongCode = m.confirm(token, wrong(code(secret, 0)));
    assertThat(wrongCode.statusCode()).isEqualTo(400);
    assertThat(read(wrongCode).get("code").asText()).isEqualTo("invalid_code");
    assertThat(m.user(id).get("mfa").get("enabled").asBoolean()).isFalse();

    HttpResponse<String> confirmed = m.confirm(token, code(secret, 0));
    assertThat(confirmed.statusCode()).isEqualTo(200);
    JsonNode codes = read(confirmed).get("recoveryCodes");
    assertThat(codes).hasSize(10);
    assertThat(codes.get(0).asText()).matches("[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}");
    // Once: confirming again is refused, and nothing shows the codes or the secret again.
    assertThat(read(m.confirm(token, code(secret, 1))).get("code").asText())
        .isEqualTo("no_pending_enrolment");

    JsonNode user = m.user(id);
    assertThat(user.get("mfa").get("enabled").asBoolean()).isTrue();
    assertThat(user.get("mfa").get("recoveryCodesLeft").asInt()).isEqualTo(10);
    String shown = f.get("/api/v1/users/" + id, f.adminToken()).body();
    String list = f.get("/api/v1/users", f.adminToken()).body();
    String me = f.get("/api/v1/me/mfa", token).body();
    for (String body : List.of(shown, list, me)) {
      assertThat(body).doesNotContain(secret).doesNotContain(codes.get(0).asText());
    }
    assertThat(read(f.get("/api/v1/me/mfa", token)).get("recoveryCodesLeft").asInt()).isEqualTo(10);
    byte[] stored =
        f.db
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT secret_protected FROM user_mfa")
                        .mapTo(byte[].class)
                        .one());
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain(secret);
    assertThat(f.protector.unprotect(MfaService.SECRET_PURPOSE, stored))
        .isEqualTo(Base32.decode(secret));

    List<AuditLog.Entry> audit = m.audit(id);
    assertThat(actions(audit)).containsSubsequence("user.mfa.confirm", "user.mfa.enrol");
    for (AuditLog.Entry e : audit.subList(0, 2)) {
      assertThat(e.actor()).isEqualTo("olga");
      assertThat(e.actorId()).isEqualTo(id);
      assertThat(e.address()).isEqualTo("127.0.0.1");
      assertThat(e.at()).isNotNull();
      assertThat(String.valueOf(e.after())).doesNotContain(secret);
    }
  }

  @Test
  void recoveryCodesAreSingleUseAndDisablingNeedsACode() throws Exception {
    String id = m.createUser("olga", "viewer");
    String token = m.token("olga");
    MfaFixture.Enrolled e = m.enrolAndConfirm(token);

    HttpResponse<String> noCode = f.json("DELETE", "/api/v1/me/mfa", token, null, Map.of());
    assertThat(noCode.statusCode()).isEqualTo(400);
    assertThat(read(noCode).get("code").asText()).isEqualTo("missing_code");
    HttpResponse<String> badCode =
        f.json("DELETE", "/api/v1/me/mfa", token, "{\"code\":\"AAAA-BBBB-CCCC-DDDD\"}", Map.of());
    assertThat(read(badCode).get("code").asText()).isEqualTo("invalid_code");

    // A recovery code signs in once, in any case and without its hyphens.
    String recovery = e.recoveryCodes().get(0);
    String typed = recovery.replace("-", "").toLowerCase(java.util.Locale.ROOT);
    assertThat(m.passwordGrant("olga", typed).statusCode()).isEqualTo(200);
    HttpResponse<String> again = m.passwordGrant("olga", recovery);
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(read(again).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(m.user(id).get("mfa").get("recoveryCodesLeft").asInt()).isEqualTo(9);

    HttpResponse<String> disabled =
        f.json(
            "DELETE",
            "/api/v1/me/mfa",
            token,
            "{\"code\":\"" + e.recoveryCodes().get(1) + "\"}",
            Map.of());
    assertThat(disabled.statusCode()).isEqualTo(204);
    assertThat(m.user(id).get("mfa").get("enabled").asBoolean()).isFalse();
    assertThat(m.passwordGrant("olga", null).statusCode()).isEqualTo(200);
    assertThat(f.count("user_mfa_recovery_codes")).isZero();

    List<String> actions = actions(m.audit(id));
    assertThat(actions)
        .containsSubsequence(
            "user.mfa.disable",
            "user.mfa.recovery-code.used",
            "user.mfa.recovery-code.used",
            "user.mfa.confirm");
  }

  @Test
  void recoveryCodesAreRegeneratedWithACurrentCodeOnly() throws Exception {
    String id = m.createUser("olga", "viewer");
    String token = m.token("olga");
    MfaFixture.Enrolled e = m.enrolAndConfirm(token);

    HttpResponse<String> withRecovery =
        f.json(
            "POST",
            "/api/v1/me/mfa/recovery-codes",
            token,
            "{\"code\":\"" + e.recoveryCodes().get(0) + "\"}",
            Map.of());
    assertThat(withRecovery.statusCode()).isEqualTo(400);
    // The code confirmation used is used up.
    HttpResponse<String> replayed =
        f.json(
            "POST",
            "/api/v1/me/mfa/recovery-codes",
            token,
            "{\"code\":\"" + code(e.secret(), 0) + "\"}",
            Map.of());
    assertThat(replayed.statusCode()).isEqualTo(400);

    HttpResponse<String> fresh =
        f.json(
            "POST",
            "/api/v1/me/mfa/recovery-codes",
            token,
            "{\"code\":\"" + code(e.secret(), 1) + "\"}",
            Map.of());
    assertThat(fresh.statusCode()).isEqualTo(200);
    assertThat(read(fresh).get("recoveryCodes")).hasSize(10);
    assertThat(read(fresh).get("recoveryCodes").toString())
        .doesNotContain(e.recoveryCodes().get(0));
    assertThat(m.passwordGrant("olga", e.recoveryCodes().get(2)).statusCode()).isEqualTo(400);
    assertThat(
            m.passwordGrant("olga", read(fresh).get("recoveryCodes").get(0).asText()).statusCode())
        .isEqualTo(200);
    assertThat(actions(m.audit(id))).contains("user.mfa.recovery-codes.regenerate");
  }

  @Test
  void anAdministratorResetsAUsersMfaAndIsAudited() throws Exception {
    String id = m.createUser("olga", "viewer");
    m.createUser("vic", "viewer");
    m.enrolAndConfirm(m.token("olga"));
    assertThat(m.passwordGrant("olga", null).statusCode()).isEqualTo(400);

    HttpResponse<String> refused =
        f.json("DELETE", "/api/v1/users/" + id + "/mfa", m.token("vic"), null, Map.of());
    assertThat(refused.statusCode()).isEqualTo(403);
    HttpResponse<String> unknown =
        f.json(
            "DELETE",
            "/api/v1/users/00000000-0000-0000-0000-000000000000/mfa",
            f.adminToken(),
            null,
            Map.of());
    assertThat(unknown.statusCode()).isEqualTo(404);

    HttpResponse<String> reset =
        f.json("DELETE", "/api/v1/users/" + id + "/mfa", f.adminToken(), null, Map.of());
    assertThat(reset.statusCode()).isEqualTo(204);
    assertThat(m.user(id).get("mfa").get("enabled").asBoolean()).isFalse();
    assertThat(m.passwordGrant("olga", null).statusCode()).isEqualTo(200);

    AuditLog.Entry entry =
        m.audit(id).stream().filter(a -> a.action().equals("user.mfa.reset")).findFirst().get();
    assertThat(entry.actor()).isEqualTo("admin");
    assertThat(entry.address()).isEqualTo("127.0.0.1");
    assertThat(entry.after().toString()).contains("\"wasEnabled\":true");
  }

  @Test
  void aConfirmedAuthenticatorIsNotReplacedByAnotherEnrolment() throws Exception {
    m.createUser("olga", "viewer");
    String token = m.token("olga");
    m.enrolAndConfirm(token);
    HttpResponse<String> again = f.json("POST", "/api/v1/me/mfa/totp", token, null, Map.of());
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(read(again).get("code").asText()).isEqualTo("mfa_enabled");
  }

  @Test
  void wrongCodesAreThrottledLikeWrongPasswords() throws Exception {
    m.createUser("olga", "viewer");
    String token = m.token("olga");
    String secret = m.enrol(token);
    String bad = wrong(code(secret, 0));
    for (int i = 0; i < 5; i++) {
      assertThat(m.confirm(token, bad).statusCode()).isEqualTo(400);
    }
    HttpResponse<String> throttled = m.confirm(token, code(secret, 0));
    assertThat(throttled.statusCode()).isEqualTo(429);
    assertThat(read(throttled).get("code").asText()).isEqualTo("too_many_attempts");
    f.clock.advance(java.time.Duration.ofSeconds(2));
    assertThat(m.confirm(token, code(secret, 0)).statusCode()).isEqualTo(200);
  }
}
