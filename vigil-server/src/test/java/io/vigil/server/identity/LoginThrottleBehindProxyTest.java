package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.audit.AuditLog;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sign-in throttling as clients behind a trusted proxy meet it: failures count per (user, client
 * address), a user's known address is not locked out by someone else's failures, and lockouts are
 * audited with the address they came from.
 */
class LoginThrottleBehindProxyTest {

  static final String ATTACKER = "203.0.113.7";
  static final String OFFICE = "203.0.113.8";

  IdpFixture f;

  @BeforeEach
  void start() {
    f = new IdpFixture(IdpFixture.ADMIN_PASSWORD);
    f.http.close();
    f.settings.http.trustedProxies = List.of("127.0.0.1");
    f.http = f.serve(f.idp);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  HttpResponse<String> signIn(String user, String password, String forwardedFor) throws Exception {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", user);
    params.put("password", password);
    return f.client.send(
        HttpRequest.newBuilder(URI.create(f.url("/idp/connect/token")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Forwarded-For", forwardedFor)
            .POST(HttpRequest.BodyPublishers.ofString(IdpFixture.encode(params)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void failuresAreCountedForTheForwardedClientAddress() throws Exception {
    int limit = LoginThrottle.Policy.DEFAULTS.failuresPerAddress();
    for (int i = 0; i < limit; i++) {
      assertThat(signIn("guess" + i, "wrong password!", ATTACKER).statusCode()).isEqualTo(400);
    }

    HttpResponse<String> throttled = signIn("guess-more", "wrong password!", ATTACKER);
    HttpResponse<String> otherClient = signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE);

    assertThat(throttled.statusCode()).isEqualTo(429);
    assertThat(otherClient.statusCode()).as(otherClient.body()).isEqualTo(200);
  }

  @Test
  void aLockedOutAttackerDoesNotLockOutTheUserFromAKnownAddress() throws Exception {
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE).statusCode()).isEqualTo(200);
    // Far more failures than any limit, from one address and then from many.
    for (int i = 0; i < 30; i++) {
      signIn("admin", "wrong password " + i, ATTACKER);
    }
    for (int i = 0; i < 30; i++) {
      signIn("admin", "wrong password " + i, "198.51.100." + i);
    }
    assertThat(signIn("admin", "wrong password!", ATTACKER).statusCode()).isEqualTo(429);

    HttpResponse<String> office = signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE);
    assertThat(office.statusCode()).as(office.body()).isEqualTo(200);
  }

  @Test
  void aSignInFromAnotherNodeKnowsTheAddressesTheUserSignedInFrom() throws Exception {
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE).statusCode()).isEqualTo(200);
    // A failover: the next node's throttle starts empty, but known addresses are shared.
    f.http.close();
    f.idp = f.newProvider(IdpFixture.ADMIN_PASSWORD);
    f.idp.start();
    f.http = f.serve(f.idp);
    for (int i = 0; i < 30; i++) {
      signIn("admin", "wrong password " + i, "198.51.100." + i);
    }
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, "192.0.2.1").statusCode()).isEqualTo(429);
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE).statusCode()).isEqualTo(200);
  }

  @Test
  void delaysGrowWithEachFailureFromTheSameAddress() throws Exception {
    int free = LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay();
    for (int i = 0; i < free; i++) {
      assertThat(signIn("admin", "wrong password " + i, ATTACKER).statusCode()).isEqualTo(400);
    }
    HttpResponse<String> first = signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER);
    assertThat(first.statusCode()).isEqualTo(429);
    assertThat(IdpFixture.read(first).get("error").asText()).isEqualTo("invalid_grant");
    assertThat(first.headers().firstValue("Retry-After")).hasValue("1");

    f.clock.advance(Duration.ofSeconds(1));
    assertThat(signIn("admin", "wrong again!!", ATTACKER).statusCode()).isEqualTo(400);
    assertThat(
            signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER)
                .headers()
                .firstValue("Retry-After"))
        .hasValue("2");
    f.clock.advance(Duration.ofSeconds(2));
    assertThat(signIn("admin", "wrong again!!", ATTACKER).statusCode()).isEqualTo(400);
    assertThat(
            signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER)
                .headers()
                .firstValue("Retry-After"))
        .hasValue("4");
    f.clock.advance(Duration.ofSeconds(4));
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER).statusCode()).isEqualTo(200);
  }

  @Test
  void anOperatorSeesTheDelaysOfAUserAndCanLiftThem() throws Exception {
    int free = LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay();
    for (int i = 0; i < free; i++) {
      signIn("admin", "wrong password " + i, ATTACKER);
    }
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER).statusCode()).isEqualTo(429);
    String admin = f.adminToken();
    String path = "/api/v1/users/" + adminId() + "/sign-in-delays";

    JsonNode delays = IdpFixture.read(f.get(path, admin)).get("items");
    assertThat(delays).hasSize(1);
    assertThat(delays.get(0).get("address").asText()).isEqualTo(ATTACKER);
    assertThat(delays.get(0).get("failures").asInt()).isEqualTo(free);
    assertThat(delays.get(0).get("until").asText()).isNotBlank();

    assertThat(f.json("DELETE", path, admin, null, Map.of()).statusCode()).isEqualTo(204);
    assertThat(IdpFixture.read(f.get(path, admin)).get("items")).isEmpty();
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, ATTACKER).statusCode()).isEqualTo(200);
    assertThat(new AuditLog(f.db.jdbi()).query(null, "user", adminId(), 100).items())
        .anySatisfy(
            e -> {
              assertThat(e.action()).isEqualTo("user.signin.unlock");
              assertThat(e.before().toString()).contains(ATTACKER);
            });
  }

  @Test
  void parallelWrongPasswordsOverHttpGetNoMorePasswordChecksThanTheLimit() throws Exception {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(32);
    List<java.util.concurrent.Callable<Integer>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 32; i++) {
      int n = i;
      calls.add(() -> signIn("admin", "wrong password " + n, ATTACKER).statusCode());
    }
    int checked = 0;
    try {
      for (java.util.concurrent.Future<Integer> r : pool.invokeAll(calls)) {
        if (r.get() == 400) {
          checked++;
        }
      }
    } finally {
      pool.shutdown();
    }
    assertThat(checked)
        .as("attempts whose password was checked")
        .isLessThanOrEqualTo(LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay());
  }

  @Test
  void aLockoutIsAudited() throws Exception {
    int free = LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay();
    for (int i = 0; i < free + 3; i++) {
      f.clock.advance(Duration.ofMinutes(1));
      signIn("admin", "wrong password " + i, ATTACKER);
    }
    String adminId = adminId();
    List<AuditLog.Entry> entries =
        new AuditLog(f.db.jdbi()).query(null, "user", adminId, 100).items();
    List<AuditLog.Entry> lockouts =
        entries.stream().filter(e -> e.action().equals("user.signin.lockout")).toList();
    assertThat(lockouts).hasSize(1);
    assertThat(lockouts.get(0).address()).isEqualTo(ATTACKER);
    assertThat(lockouts.get(0).actor()).isEqualTo("admin");
    assertThat(lockouts.get(0).after().toString()).contains("\"failures\":" + free);
    assertThat(entries.stream().filter(e -> e.action().equals("user.signin.failed")))
        .allSatisfy(e -> assertThat(e.address()).isEqualTo(ATTACKER))
        .hasSizeGreaterThanOrEqualTo(free);
  }

  @Test
  void aLockoutRaisesASigninFailuresEventNamingTheUserAndAddress() throws Exception {
    int free = LoginThrottle.Policy.DEFAULTS.failuresBeforeDelay();
    for (int i = 0; i < free + 3; i++) {
      f.clock.advance(Duration.ofMinutes(1));
      signIn("admin", "wrong password " + i, ATTACKER);
    }
    List<Map<String, Object>> events =
        f.db
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT source, severity, data_json FROM events WHERE type ="
                                + " 'signin.failures'")
                        .mapToMap()
                        .list());
    assertThat(events).hasSize(1);
    assertThat(events.get(0).get("source")).isEqualTo("node:" + f.settings.nodeName());
    assertThat(events.get(0).get("severity")).isEqualTo("warning");
    assertThat(events.get(0).get("data_json").toString())
        .contains("\"user\":\"admin\"")
        .contains("\"address\":\"" + ATTACKER + "\"")
        .contains("\"failures\":" + free);
  }

  @Test
  void signInsAreAuditedWithTheClientAndAddress() throws Exception {
    assertThat(signIn("admin", IdpFixture.ADMIN_PASSWORD, OFFICE).statusCode()).isEqualTo(200);
    signIn("nobody", "wrong password!", ATTACKER);

    AuditLog audit = new AuditLog(f.db.jdbi());
    AuditLog.Entry success = audit.query(null, "user", adminId(), 10).items().get(0);
    assertThat(success.action()).isEqualTo("user.signin");
    assertThat(success.address()).isEqualTo(OFFICE);
    assertThat(success.after().toString()).contains("vigil-cli");
    AuditLog.Entry unknown = audit.query(null, "user", "nobody", 10).items().get(0);
    assertThat(unknown.action()).isEqualTo("user.signin.failed");
    assertThat(unknown.address()).isEqualTo(ATTACKER);
    assertThat(unknown.actorId()).isEqualTo("-");
  }

  private String adminId() {
    return f.db
        .jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT id FROM users WHERE username_key = 'admin'")
                    .mapTo(String.class)
                    .one());
  }
}
