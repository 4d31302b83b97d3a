package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The device authorization grant over HTTP against a real identity provider: the device's requests
 * and the browser's (device page, the sign-in page's real login form, approval) as plain requests.
 */
class DeviceGrantTest {

  static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

  private IdpFixture f;

  @BeforeEach
  void start() {
    f = new IdpFixture(ADMIN_PASSWORD);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  private JsonNode startDevice(String clientId) throws Exception {
    HttpResponse<String> r =
        f.form(
            "/idp/connect/device_authorization",
            Map.of("client_id", clientId, "scope", "openid vigil.api offline_access"),
            null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return read(r);
  }

  private HttpResponse<String> poll(String deviceCode) throws Exception {
    return f.form(
        "/idp/connect/token",
        Map.of("grant_type", DEVICE_GRANT, "client_id", "vigil-cli", "device_code", deviceCode),
        null);
  }

  private HttpResponse<String> enterCode(String userCode) throws Exception {
    return f.form("/idp/device", Map.of("user_code", userCode), null);
  }

  /**
   * What a person does in a browser: enters the code, signs in on the sign-in page, and decides.
   *
   * @return the page the decision led to
   */
  private HttpResponse<String> signInAndDecide(String userCode, String decision) throws Exception {
    String consent = signIn(userCode);
    return f.form("/idp/device/consent", Map.of("consent", consent, "decision", decision), null);
  }

  /** Enters the code and signs in; returns the approval form's consent token. */
  private String signIn(String userCode) throws Exception {
    HttpResponse<String> entered = enterCode(userCode);
    assertThat(entered.statusCode()).as(entered.body()).isEqualTo(303);
    URI authorize =
        URI.create(f.url("/idp/device"))
            .resolve(entered.headers().firstValue("Location").orElseThrow());
    assertThat(authorize.getPath()).isEqualTo("/idp/connect/authorize");
    HttpResponse<String> loginPage =
        f.get(authorize.getPath() + "?" + authorize.getRawQuery(), null);
    assertThat(loginPage.statusCode()).isEqualTo(200);
    assertThat(loginPage.body()).contains("name=\"password\"");

    Map<String, String> form = new LinkedHashMap<>();
    for (String pair : authorize.getRawQuery().split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(
          URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
          URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
    }
    form.put("username", "admin");
    form.put("password", ADMIN_PASSWORD);
    HttpResponse<String> signedIn = f.form("/idp/connect/authorize", form, null);
    assertThat(signedIn.statusCode()).as(signedIn.body()).isEqualTo(302);
    URI callback = URI.create(signedIn.headers().firstValue("Location").orElseThrow());
    assertThat(callback.getPath()).isEqualTo("/idp/device/callback");
    HttpResponse<String> approval = f.get(callback.getPath() + "?" + callback.getRawQuery(), null);
    assertThat(approval.statusCode()).as(approval.body()).isEqualTo(200);
    assertThat(approval.body()).contains("<strong id=\"username\">admin</strong>");
    Matcher m = Pattern.compile("name=\"consent\" value=\"([^\"]+)\"").matcher(approval.body());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  private static String error(HttpResponse<String> r) throws Exception {
    return read(r).path("error").asText();
  }

  @Test
  void discoveryAdvertisesTheDeviceAuthorizationEndpointAndGrant() throws Exception {
    JsonNode meta = read(f.get("/idp/.well-known/openid-configuration", null));

    assertThat(meta.get("device_authorization_endpoint").asText())
        .isEqualTo("http://vigil.test:8080/idp/connect/device_authorization");
    assertThat(meta.get("grant_types_supported").toString()).contains(DEVICE_GRANT);
  }

  @Test
  void theDeviceGetsAUserCodeToShowAndTheVerificationPage() throws Exception {
    JsonNode started = startDevice("vigil-cli");

    assertThat(started.get("user_code").asText()).matches("[BCDFGHJKLMNPQRSTVWXZ]{4}-[A-Z]{4}");
    assertThat(started.get("device_code").asText()).hasSize(43);
    assertThat(started.get("verification_uri").asText())
        .isEqualTo("http://vigil.test:8080/idp/device");
    assertThat(started.get("verification_uri_complete").asText())
        .isEqualTo(
            "http://vigil.test:8080/idp/device?user_code=" + started.get("user_code").asText());
    assertThat(started.get("expires_in").asLong()).isEqualTo(600);
    assertThat(started.get("interval").asLong()).isEqualTo(5);
    String stored =
        f.db
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT device_code_hash FROM device_authorizations")
                        .mapTo(String.class)
                        .one());
    assertThat(stored).isEqualTo(Secrets.sha256(started.get("device_code").asText()));

    HttpResponse<String> page =
        f.get("/idp/device?user_code=" + started.get("user_code").asText(), null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("value=\"" + started.get("user_code").asText() + "\"");
  }

  @Test
  void aDeviceIsPendingUntilTheUserSignsInAndApprovesThenGetsItsTokensOnce() throws Exception {
    JsonNode started = startDevice("vigil-cli");
    String deviceCode = started.get("device_code").asText();
    HttpResponse<String> pending = poll(deviceCode);
    assertThat(pending.statusCode()).isEqualTo(400);
    assertThat(error(pending)).isEqualTo("authorization_pending");

    // Typed in lower case and without the dash: both are ignored.
    String typed = started.get("user_code").asText().replace("-", "").toLowerCase();
    HttpResponse<String> approved = signInAndDecide(typed, "approve");
    assertThat(approved.statusCode()).isEqualTo(200);
    assertThat(approved.body()).contains("Device approved");

    HttpResponse<String> tokens = poll(deviceCode);
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    JsonNode body = read(tokens);
    assertThat(body.has("id_token")).isTrue();
    String refresh = body.get("refresh_token").asText();
    String access = body.get("access_token").asText();
    assertThat(f.get("/api/v1/users", access).statusCode()).isEqualTo(200);
    assertThat(
            com.nimbusds.jwt.SignedJWT.parse(access).getJWTClaimsSet().getStringClaim("client_id"))
        .isEqualTo("vigil-cli");

    // A second redemption is a replay: refused, and the session it started is revoked.
    HttpResponse<String> replay = poll(deviceCode);
    assertThat(error(replay)).isEqualTo("invalid_grant");
    List<io.vigil.server.audit.AuditLog.Entry> reuse =
        new io.vigil.server.audit.AuditLog(f.db.jdbi())
            .query(null, "session", null, 100).items().stream()
                .filter(e -> e.action().equals("token.reuse"))
                .toList();
    assertThat(reuse).hasSize(1);
    assertThat(reuse.get(0).actor()).isEqualTo("admin");
    assertThat(reuse.get(0).after().toString()).contains("device_code");
    HttpResponse<String> refreshed =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type", "refresh_token", "client_id", "vigil-cli", "refresh_token", refresh),
            null);
    assertThat(error(refreshed)).isEqualTo("invalid_grant");
    // The user code is used up too.
    assertThat(enterCode(started.get("user_code").asText()).statusCode()).isEqualTo(400);
  }

  @Test
  void theApprovalFormIsSingleUse() throws Exception {
    JsonNode started = startDevice("vigil-cli");
    String consent = signIn(started.get("user_code").asText());

    HttpResponse<String> denied =
        f.form("/idp/device/consent", Map.of("consent", consent, "decision", "deny"), null);
    HttpResponse<String> again =
        f.form("/idp/device/consent", Map.of("consent", consent, "decision", "approve"), null);

    assertThat(denied.statusCode()).isEqualTo(200);
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(error(poll(started.get("device_code").asText()))).isEqualTo("access_denied");
  }

  @Test
  void aDeniedDeviceGetsAccessDenied() throws Exception {
    JsonNode started = startDevice("vigil-cli");

    HttpResponse<String> denied = signInAndDecide(started.get("user_code").asText(), "deny");

    assertThat(denied.statusCode()).isEqualTo(200);
    assertThat(denied.body()).contains("Device denied");
    HttpResponse<String> r = poll(started.get("device_code").asText());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(error(r)).isEqualTo("access_denied");
    assertThat(error(poll(started.get("device_code").asText()))).isEqualTo("access_denied");
  }

  @Test
  void anExpiredDeviceCodeGetsExpiredTokenAndItsUserCodeIsRefused() throws Exception {
    JsonNode started = startDevice("vigil-cli");
    // Expiry is decided by the database's clock; move the row's expiry into its past.
    f.db
        .jdbi()
        .useHandle(
            h ->
                h.createUpdate("UPDATE device_authorizations SET expires_at = :past")
                    .bind("past", Timestamp.from(Instant.now().minusSeconds(60)))
                    .execute());

    HttpResponse<String> r = poll(started.get("device_code").asText());

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(error(r)).isEqualTo("expired_token");
    HttpResponse<String> page = enterCode(started.get("user_code").asText());
    assertThat(page.statusCode()).isEqualTo(400);
    assertThat(page.body()).contains("not valid");
  }

  @Test
  void pollingFasterThanTheIntervalGetsSlowDownAndALongerInterval() throws Exception {
    String deviceCode = startDevice("vigil-cli").get("device_code").asText();

    assertThat(error(poll(deviceCode))).isEqualTo("authorization_pending");
    HttpResponse<String> fast = poll(deviceCode);
    assertThat(fast.statusCode()).isEqualTo(400);
    assertThat(error(fast)).isEqualTo("slow_down");
    assertThat(read(fast).get("error_description").asText()).contains("every 10 seconds");
    assertThat(read(poll(deviceCode)).get("error_description").asText())
        .contains("every 15 seconds");
    int interval =
        f.db
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT interval_seconds FROM device_authorizations")
                        .mapTo(Integer.class)
                        .one());
    assertThat(interval).isEqualTo(15);
  }

  @Test
  void wrongUserCodesFromOneAddressAreThrottledEvenBeforeARightOne() throws Exception {
    JsonNode started = startDevice("vigil-cli");
    for (int i = 0; i < UserCodeGuesses.LIMIT; i++) {
      HttpResponse<String> wrong = enterCode("BCDF-GHJ" + "KLMNPQRSTV".charAt(i));
      assertThat(wrong.statusCode()).isEqualTo(400);
    }

    HttpResponse<String> refused = enterCode(started.get("user_code").asText());

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).isPresent();
    assertThat(refused.body()).contains("Too many wrong codes");
    assertThat(error(poll(started.get("device_code").asText()))).isEqualTo("authorization_pending");
  }

  @Test
  void aClientWithoutTheDeviceGrantIsRefused() throws Exception {
    HttpResponse<String> console =
        f.form("/idp/connect/device_authorization", Map.of("client_id", "vigil-console"), null);
    assertThat(console.statusCode()).isEqualTo(400);
    assertThat(error(console)).isEqualTo("unauthorized_client");

    String admin = f.adminToken();
    HttpResponse<String> created =
        f.json(
            "POST",
            "/api/v1/clients",
            admin,
            "{\"clientId\":\"recorder-1\",\"roles\":[\"component\"]}",
            Map.of());
    String secret = read(created).get("clientSecret").asText();
    HttpResponse<String> confidential =
        f.form("/idp/connect/device_authorization", Map.of(), "recorder-1:" + secret);
    assertThat(error(confidential)).isEqualTo("unauthorized_client");

    String deviceCode = startDevice("vigil-cli").get("device_code").asText();
    HttpResponse<String> otherClient =
        f.form(
            "/idp/connect/token",
            Map.of(
                "grant_type",
                DEVICE_GRANT,
                "client_id",
                "vigil-console",
                "device_code",
                deviceCode),
            null);
    assertThat(error(otherClient)).isEqualTo("unauthorized_client");
    HttpResponse<String> unknown = poll("not-a-device-code");
    assertThat(error(unknown)).isEqualTo("invalid_grant");
  }

  @Test
  void aSignInAnswerIsUsedOnce() throws Exception {
    JsonNode started = startDevice("vigil-cli");
    HttpResponse<String> entered = enterCode(started.get("user_code").asText());
    URI authorize =
        URI.create(f.url("/idp/device"))
            .resolve(entered.headers().firstValue("Location").orElseThrow());
    String state =
        URLDecoder.decode(
            authorize.getRawQuery().replaceAll(".*(?:^|&)state=([^&]*).*", "$1"),
            StandardCharsets.UTF_8);

    HttpResponse<String> forged =
        f.client.send(
            HttpRequest.newBuilder(
                    URI.create(f.url("/idp/device/callback?code=guess&state=" + state)))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(forged.statusCode()).isEqualTo(400);
    HttpResponse<String> again = f.get("/idp/device/callback?code=guess&state=" + state, null);
    assertThat(again.statusCode()).isEqualTo(400);
    assertThat(again.body()).contains("already used");
  }
}
