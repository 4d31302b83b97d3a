package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.audit.AuditLog;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Users with authenticators on an {@link IdpFixture}, and the codes those would show. */
final class MfaFixture {

  static final String PASSWORD = "a long enough secret";

  private final IdpFixture f;

  MfaFixture(IdpFixture f) {
    this.f = f;
  }

  /** A user with the given roles and {@link #PASSWORD}; returns its id. */
  String createUser(String name, String... roles) throws Exception {
    HttpResponse<String> r =
        f.json(
            "POST",
            "/api/v1/users",
            f.adminToken(),
            "{\"username\":\""
                + name
                + "\",\"password\":\""
                + PASSWORD
                + "\",\"roles\":"
                + Json.list(roles)
                + "}",
            Map.of());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return read(r).get("id").asText();
  }

  String token(String name) throws Exception {
    HttpResponse<String> r = f.passwordGrant(name, PASSWORD, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return read(r).get("access_token").asText();
  }

  /** Starts enrolment; returns the base32 secret. */
  String enrol(String token) throws Exception {
    HttpResponse<String> r = f.json("POST", "/api/v1/me/mfa/totp", token, null, Map.of());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return read(r).get("secret").asText();
  }

  /** Enrols and confirms with the current code; returns the secret and the recovery codes. */
  Enrolled enrolAndConfirm(String token) throws Exception {
    String secret = enrol(token);
    HttpResponse<String> r = confirm(token, code(secret, 0));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    List<String> codes = new java.util.ArrayList<>();
    read(r).get("recoveryCodes").forEach(c -> codes.add(c.asText()));
    return new Enrolled(secret, codes);
  }

  record Enrolled(String secret, List<String> recoveryCodes) {}

  HttpResponse<String> confirm(String token, String code) throws Exception {
    return f.json(
        "POST", "/api/v1/me/mfa/totp/confirm", token, "{\"code\":\"" + code + "\"}", Map.of());
  }

  /**
   * The code the authenticator shows {@code steps} steps from now. Codes are checked against the
   * database's clock, which for the in-memory database is this machine's: step 0 and 1 are always
   * within the window (a step either side), so a test can use two codes of one user per run.
   */
  static String code(String secret, int steps) {
    return Totp.code(Base32.decode(secret), Totp.step(Instant.now()) + steps);
  }

  /** A 6-digit code that is not {@code code}. */
  static String wrong(String code) {
    return String.format("%06d", (Integer.parseInt(code) + 1) % 1_000_000);
  }

  HttpResponse<String> passwordGrant(String name, String otp) throws Exception {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", name);
    params.put("password", PASSWORD);
    if (otp != null) {
      params.put("totp", otp);
    }
    return f.form("/idp/connect/token", params, null);
  }

  /** The audit entries about user {@code id}, newest first. */
  List<AuditLog.Entry> audit(String id) {
    return new AuditLog(f.db.jdbi()).query(null, "user", id, 100).items();
  }

  static List<String> actions(List<AuditLog.Entry> entries) {
    return entries.stream().map(AuditLog.Entry::action).toList();
  }

  JsonNode user(String id) throws Exception {
    return read(f.get("/api/v1/users/" + id, f.adminToken()));
  }

  private static final class Json {
    static String list(String... values) {
      StringBuilder b = new StringBuilder("[");
      for (String v : values) {
        b.append(b.length() > 1 ? "," : "").append('"').append(v).append('"');
      }
      return b.append(']').toString();
    }
  }
}
