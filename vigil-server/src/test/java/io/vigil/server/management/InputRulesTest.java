package io.vigil.server.management;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the API refuses at its edge, for every route that reads the same rules: each refusal is a
 * 400 or 415 with a stable code and a message that names no Java type and echoes no long value, and
 * it changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InputRulesTest {

  static final String ADMIN = "admin-token";

  Database db;
  HttpServer server;
  TestHttp http;

  @BeforeAll
  void start() {
    db = TestDatabases.h2();
    Principal admin =
        new Principal(
            "id-alice", "alice", "vigil-cli", Set.of(Role.ADMINISTRATOR), Set.of("vigil.api"));
    server = ManagementApiContract.serve(db, Map.of(ADMIN, admin), 2 * 1024 * 1024);
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  @AfterAll
  void stop() {
    server.close();
    db.close();
  }

  Response post(String json, Map<String, String> headers) {
    return http.send("POST", "/api/v1/servers", ADMIN, json, headers);
  }

  static String server(String name, String address) {
    return "{\"name\":\""
        + name
        + "\",\"type\":\"recording-server\",\"address\":\""
        + address
        + "\",\"version\":\"24.1\"}";
  }

  int servers() {
    return http.get("/api/v1/servers", ADMIN).json().get("items").size();
  }

  void assertRefused(Response r, int status, String code) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.json().get("code").asText()).as(r.body()).isEqualTo(code);
    assertThat(r.json().get("message").asText())
        .as(r.body())
        .doesNotContainPattern("java\\.|io\\.vigil|\\$|Coercion|`")
        .hasSizeLessThan(400);
  }

  @Test
  void onlyJsonInUtf8IsAccepted() {
    int before = servers();
    for (String type :
        List.of(
            "application/jsonx",
            "application/json-patch+json",
            "text/plain",
            "application/json; charset=iso-8859-1",
            "application/json; charset=utf-8; boundary=x")) {
      assertRefused(
          post(server("ct-" + before, "http://ct.local"), Map.of("Content-Type", type)),
          415,
          "unsupported_media_type");
    }
    assertThat(servers()).isEqualTo(before);

    assertThat(
            post(
                    server("ct-ok", "http://ct-ok.local"),
                    Map.of("Content-Type", "Application/JSON; Charset=\"UTF-8\""))
                .status())
        .isEqualTo(201);
  }

  @Test
  void aFieldGivenTwiceIsRefused() {
    int before = servers();
    Response r =
        post(
            "{\"name\":\"dup\",\"name\":\"dup-2\",\"type\":\"recording-server\","
                + "\"address\":\"http://dup.local\",\"version\":\"24.1\"}",
            Map.of());

    assertRefused(r, 400, "duplicate_field");
    assertThat(r.json().get("message").asText()).contains("\"name\"");
    assertThat(servers()).isEqualTo(before);
  }

  @Test
  void wrongTypesAreDescribedWithoutJavaTypes() {
    assertRefused(
        post(
            "{\"name\":7,\"type\":\"recording-server\",\"address\":\"http://a.local\","
                + "\"version\":\"24.1\"}",
            Map.of()),
        400,
        "wrong_type");
    Response array = post("[1,2]", Map.of());
    assertRefused(array, 400, "wrong_type");
    assertThat(array.json().get("message").asText()).contains("an object");
    assertRefused(post("\"just a string\"", Map.of()), 400, "wrong_type");
  }

  @Test
  void aLongInvalidValueIsNotEchoedWhole() {
    String huge = "x".repeat(1024 * 1024);
    Response r = post(server("huge", "not a url " + huge), Map.of());

    assertRefused(r, 400, "invalid_address");
    assertThat(r.body()).hasSizeLessThan(1000);
  }

  @Test
  void stringsThatAreNotTextAreRefused() {
    int before = servers();
    assertRefused(
        post(server("lone-\\ud800-half", "http://s.local"), Map.of()), 400, "invalid_text");
    assertRefused(
        post(server("nul-\\u0000-byte", "http://s.local"), Map.of()), 400, "invalid_text");
    assertThat(servers()).isEqualTo(before);
    // A pair is one character, and a name of 200 of them is allowed.
    assertThat(post(server("\\ud83d\\udcf7".repeat(200), "http://pair.local"), Map.of()).status())
        .isEqualTo(201);
  }

  @Test
  void invisibleAndBidirectionalCharactersAreRefusedInNames() {
    int before = servers();
    for (String name : List.of("rec\\u200b01", "rec-\\u202egnp.exe", "\\ufeffrec", "rec\\u2066x")) {
      assertRefused(post(server(name, "http://inv.local"), Map.of()), 400, "invalid_name");
    }
    assertThat(servers()).isEqualTo(before);
  }

  @Test
  void portsOutsideOneTo65535AreRefused() {
    int before = servers();
    for (String address :
        List.of("http://p.local:0", "http://p.local:65536", "http://p.local:99999999999")) {
      assertRefused(post(server("port", address), Map.of()), 400, "invalid_address");
    }
    assertThat(servers()).isEqualTo(before);
    assertThat(post(server("port-ok", "http://p.local:65535"), Map.of()).status()).isEqualTo(201);
  }

  @Test
  void onlyEtagsTheApiIssuedAreAcceptedInIfMatch() {
    Response created = post(server("etag", "http://etag.local"), Map.of());
    String id = created.json().get("id").asText();
    String etag = created.header("ETag");
    for (String bad : List.of("1", "\"+1\"", "\"01\"", "W/" + etag, "*", etag + ", \"2\"")) {
      Response r =
          http.send(
              "PATCH",
              "/api/v1/servers/" + id,
              ADMIN,
              "{\"version\":\"25.1\"}",
              Map.of("If-Match", bad));
      assertRefused(r, 400, "invalid_precondition");
    }
    assertThat(http.get("/api/v1/servers/" + id, ADMIN).json().get("revision").asLong())
        .isEqualTo(1);
    Response ok =
        http.send(
            "PATCH",
            "/api/v1/servers/" + id,
            ADMIN,
            "{\"version\":\"25.1\"}",
            Map.of("If-Match", etag));
    assertThat(ok.status()).as(ok.body()).isEqualTo(200);
  }

  @Test
  void cursorsTheApiDidNotIssueAreRefused() {
    for (String cursor : List.of("eA", "AAAA", "_w", "bmFtZT5h=", "bmFtZT5hx")) {
      assertRefused(http.get("/api/v1/servers?cursor=" + cursor, ADMIN), 400, "invalid_cursor");
    }
    for (String cursor : List.of("0", "-5", "007", "1e3")) {
      assertRefused(http.get("/api/v1/audit?cursor=" + cursor, ADMIN), 400, "invalid_cursor");
    }
  }
}
