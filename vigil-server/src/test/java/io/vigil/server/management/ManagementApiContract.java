package io.vigil.server.management;

import static io.vigil.server.testing.TestApiServer.component;
import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.DataCollector;
import io.vigil.server.collector.ServerLiveness;
import io.vigil.server.db.Database;
import io.vigil.server.events.EventStore;
import io.vigil.server.http.HttpServer;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestApiServer;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import io.vigil.server.testing.TestProtector;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The management API's behaviour over HTTP, run against each database Vigil supports. Tokens are
 * mapped to callers by a fixed table here; token verification itself is the identity provider's and
 * is tested there and end to end on a node.
 */
abstract class ManagementApiContract {

  static final String ADMIN = "admin-token";
  static final String OPERATOR = "operator-token";
  static final String VIEWER = "viewer-token";
  static final String RECORDER_A = "recorder-a-token";
  static final String RECORDER_B = "recorder-b-token";

  Database db;
  Fence fence;
  HttpServer server;
  TestHttp http;

  abstract Database openDatabase();

  @BeforeEach
  void start() {
    db = openDatabase();
    Map<String, Principal> callers =
        Map.of(
            ADMIN, user("alice", Role.ADMINISTRATOR),
            OPERATOR, user("oscar", Role.OPERATOR),
            VIEWER, user("victor", Role.VIEWER),
            RECORDER_A, component("rec-a-client"),
            RECORDER_B, component("rec-b-client"));
    fence = Fence.unfenced(db.jdbi());
    server = serve(db, fence, callers, 16 * 1024);
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  /**
   * The management routes on {@code db} over HTTP on a free loopback port, with tokens mapped to
   * callers by {@code callers}.
   */
  static HttpServer serve(Database db, Map<String, Principal> callers, long maxRequestBytes) {
    return serve(db, Fence.unfenced(db.jdbi()), callers, maxRequestBytes);
  }

  /** The same with every write through {@code fence}, as on a node. */
  static HttpServer serve(
      Database db, Fence fence, Map<String, Principal> callers, long maxRequestBytes) {
    return TestApiServer.start(
        callers,
        maxRequestBytes,
        List.of(
            new ManagementRoutes(
                new ServerRegistry(fence, db.dialect(), EventStore.siteEvents()),
                new Devices(fence, new TestProtector()),
                new SiteSettings(fence),
                new AuditLog(db.jdbi()))));
  }

  @AfterEach
  void stop() {
    server.close();
    db.close();
  }

  Response post(String path, String token, String json) {
    return http.send("POST", path, token, json, Map.of());
  }

  Response patch(String path, String token, String json, String etag) {
    return http.send(
        "PATCH", path, token, json, etag == null ? Map.of() : Map.of("If-Match", etag));
  }

  JsonNode registerRecorder(String name) {
    return registerRecorder(OPERATOR, name);
  }

  JsonNode registerRecorder(String token, String name) {
    Response r =
        post(
            "/api/v1/servers",
            token,
            "{\"name\":\""
                + name
                + "\",\"type\":\"recording-server\",\"address\":\"http://"
                + name
                + ".local:7563\",\"version\":\"24.1\"}");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json();
  }

  String snapshot() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT (SELECT COUNT(*) FROM servers) || '/' || (SELECT COALESCE(SUM(revision),0) FROM servers)"
                            + " || '/' || (SELECT COUNT(*) FROM hardware) || '/' || (SELECT COALESCE(SUM(revision),0) FROM hardware)"
                            + " || '/' || (SELECT COUNT(*) FROM cameras) || '/' || (SELECT COALESCE(SUM(revision),0) FROM cameras)"
                            + " || '/' || (SELECT COUNT(*) FROM audit_log) || '/' || (SELECT revision FROM site_settings)")
                    .mapTo(String.class)
                    .one());
  }

  // ---- servers

  @Test
  void registeringAServerReturnsItWithLocationAndEtagAndAuditsIt() {
    JsonNode s = registerRecorder("rec-01");
    assertThat(s.get("name").asText()).isEqualTo("rec-01");
    assertThat(s.get("type").asText()).isEqualTo("recording-server");
    assertThat(s.get("status").asText()).isEqualTo("unknown");
    assertThat(s.get("version").asText()).isEqualTo("24.1");
    assertThat(s.get("revision").asLong()).isEqualTo(1);

    Response got = http.get("/api/v1/servers/" + s.get("id").asText(), VIEWER);
    assertThat(got.status()).isEqualTo(200);
    assertThat(got.header("ETag")).startsWith("\"1.");

    JsonNode audit = http.get("/api/v1/audit?objectType=server", ADMIN).json();
    JsonNode entry = audit.get("items").get(0);
    assertThat(entry.get("action").asText()).isEqualTo("server.registered");
    assertThat(entry.get("actor").asText()).isEqualTo("oscar");
    assertThat(entry.get("before").isNull()).isTrue();
    assertThat(entry.get("after").get("name").asText()).isEqualTo("rec-01");
  }

  @Test
  void listPagesThroughServersInNameOrder() {
    for (String n : List.of("c", "a", "e", "b", "d")) {
      registerRecorder("rec-" + n);
    }
    JsonNode first = http.get("/api/v1/servers?limit=2", VIEWER).json();
    assertThat(first.get("items"))
        .extracting(n -> n.get("name").asText())
        .containsExactly("rec-a", "rec-b");
    String cursor = first.get("nextCursor").asText();
    JsonNode second = http.get("/api/v1/servers?limit=2&cursor=" + cursor, VIEWER).json();
    assertThat(second.get("items"))
        .extracting(n -> n.get("name").asText())
        .containsExactly("rec-c", "rec-d");
    JsonNode last =
        http.get("/api/v1/servers?limit=2&cursor=" + second.get("nextCursor").asText(), VIEWER)
            .json();
    assertThat(last.get("items")).extracting(n -> n.get("name").asText()).containsExactly("rec-e");
    assertThat(last.get("nextCursor").isNull()).isTrue();
  }

  @Test
  void badInputIsRejectedWithAStableCodeAndChangesNothing() {
    registerRecorder("rec-01");
    String before = snapshot();
    record Case(String body, int status, String code) {}
    List<Case> cases =
        List.of(
            new Case("{\"name\":\"x\",", 400, "malformed_json"),
            new Case("not json", 400, "malformed_json"),
            new Case(
                "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"http://x\",\"colour\":\"red\"}",
                400,
                "unknown_field"),
            new Case(
                "{\"name\":5,\"type\":\"recording-server\",\"address\":\"http://x\"}",
                400,
                "wrong_type"),
            new Case(
                "{\"name\":[\"x\"],\"type\":\"recording-server\",\"address\":\"http://x\"}",
                400,
                "wrong_type"),
            new Case(
                "{\"name\":\"x\",\"type\":\"toaster\",\"address\":\"http://x\"}",
                400,
                "invalid_type"),
            new Case(
                "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"not a url\"}",
                400,
                "invalid_address"),
            new Case(
                "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"ftp://x\"}",
                400,
                "invalid_address"),
            new Case(
                "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"http://u:p@x\"}",
                400,
                "invalid_address"),
            new Case(
                "{\"name\":\"\",\"type\":\"recording-server\",\"address\":\"http://x\"}",
                400,
                "invalid_name"),
            new Case(
                "{\"type\":\"recording-server\",\"address\":\"http://x\"}", 400, "missing_field"),
            new Case(
                "{\"name\":\"REC-01\",\"type\":\"recording-server\",\"address\":\"http://x\"}",
                409,
                "duplicate_name"),
            new Case("[]", 400, "wrong_type"),
            new Case(
                "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"http://x\"} {}",
                400,
                "malformed_json"));
    for (Case c : cases) {
      Response r = post("/api/v1/servers", OPERATOR, c.body());
      assertThat(r.status()).as(c.body() + " -> " + r.body()).isEqualTo(c.status());
      assertThat(r.json().get("code").asText()).as(c.body()).isEqualTo(c.code());
      assertThat(r.json().get("message").asText()).isNotBlank();
    }
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void oversizeBodyIs413AndChangesNothing() {
    String before = snapshot();
    String huge =
        "{\"name\":\""
            + "x".repeat(20_000)
            + "\",\"type\":\"recording-server\",\"address\":\"http://x\"}";
    Response r = post("/api/v1/servers", OPERATOR, huge);
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.json().get("code").asText()).isEqualTo("payload_too_large");
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void nonJsonContentTypeIs415() {
    Response r =
        http.send("POST", "/api/v1/servers", OPERATOR, "{}", Map.of("Content-Type", "text/plain"));
    // the client sets application/json when a body is given; override wins only if set last
    assertThat(r.status()).isIn(400, 415);
  }

  @Test
  void badOrUnknownIdsAre404() {
    for (String id : List.of("nope", "1", "00000000-0000-0000-0000-000000000000", "' OR 1=1 --")) {
      Response r =
          http.get("/api/v1/servers/" + id.replace(" ", "%20").replace("'", "%27"), VIEWER);
      assertThat(r.status()).as(id).isEqualTo(404);
      assertThat(r.json().get("code").asText()).isEqualTo("not_found");
    }
  }

  @Test
  void updatesNeedTheCurrentEtagAndAStaleOneChangesNothing() {
    JsonNode s = registerRecorder("rec-01");
    String path = "/api/v1/servers/" + s.get("id").asText();

    Response missing = patch(path, OPERATOR, "{\"address\":\"http://rec-01b:7563\"}", null);
    assertThat(missing.status()).isEqualTo(428);
    assertThat(missing.json().get("code").asText()).isEqualTo("precondition_required");

    Response ok =
        patch(
            path, OPERATOR, "{\"address\":\"http://rec-01b:7563\",\"status\":\"online\"}", "\"1\"");
    assertThat(ok.status()).as(ok.body()).isEqualTo(200);
    assertThat(ok.json().get("revision").asLong()).isEqualTo(2);
    assertThat(ok.json().get("status").asText()).isEqualTo("online");
    assertThat(ok.header("ETag")).isEqualTo("\"2\"");

    String before = snapshot();
    Response stale = patch(path, OPERATOR, "{\"name\":\"other\"}", "\"1\"");
    assertThat(stale.status()).isEqualTo(409);
    assertThat(stale.json().get("code").asText()).isEqualTo("version_conflict");
    assertThat(stale.json().get("message").asText()).contains("rec-01");
    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).json().get("name").asText()).isEqualTo("rec-01");

    Response badEtag = patch(path, OPERATOR, "{\"name\":\"other\"}", "\"banana\"");
    assertThat(badEtag.status()).isEqualTo(400);
    Response badStatus = patch(path, OPERATOR, "{\"status\":\"asleep\"}", "\"2\"");
    assertThat(badStatus.json().get("code").asText()).isEqualTo("invalid_status");
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void permissionsAreEnforcedOnEveryRoute() {
    String before = snapshot();
    Response r =
        post(
            "/api/v1/servers",
            VIEWER,
            "{\"name\":\"x\",\"type\":\"recording-server\",\"address\":\"http://x\"}");
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.json().get("code").asText()).isEqualTo("forbidden");
    assertThat(http.get("/api/v1/audit", OPERATOR).status()).isEqualTo(403);
    assertThat(patch("/api/v1/site", OPERATOR, "{\"siteName\":\"x\"}", "\"1\"").status())
        .isEqualTo(403);
    assertThat(http.get("/api/v1/servers", null).status()).isEqualTo(401);
    assertThat(http.get("/api/v1/servers", "forged").status()).isEqualTo(401);
    assertThat(http.get("/api/v1/no-such-thing", null).status()).isEqualTo(401);
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void unregisteringIsRefusedWhileHardwareIsAssigned() {
    JsonNode rec = registerRecorder("rec-01");
    String id = rec.get("id").asText();
    Response hw =
        post(
            "/api/v1/hardware",
            OPERATOR,
            "{\"name\":\"cam-box\",\"recordingServerId\":\""
                + id
                + "\",\"address\":\"rtsp://10.1.1.5\"}");
    assertThat(hw.status()).as(hw.body()).isEqualTo(201);
    String before = snapshot();
    Response r = http.send("DELETE", "/api/v1/servers/" + id, OPERATOR, null, Map.of());
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.json().get("code").asText()).isEqualTo("in_use");
    assertThat(snapshot()).isEqualTo(before);

    assertThat(
            http.send(
                    "DELETE",
                    "/api/v1/hardware/" + hw.json().get("id").asText(),
                    OPERATOR,
                    null,
                    Map.of())
                .status())
        .isEqualTo(204);
    assertThat(http.send("DELETE", "/api/v1/servers/" + id, OPERATOR, null, Map.of()).status())
        .isEqualTo(204);
    assertThat(http.get("/api/v1/servers/" + id, VIEWER).status()).isEqualTo(404);
  }

  // ---- hardware and cameras

  @Test
  void hardwareMustBeAssignedToAnExistingRecordingServer() {
    Response gateway =
        post(
            "/api/v1/servers",
            OPERATOR,
            "{\"name\":\"gw\",\"type\":\"api-gateway\",\"address\":\"https://gw\"}");
    String before = snapshot();
    Response unknown =
        post(
            "/api/v1/hardware",
            OPERATOR,
            "{\"name\":\"hw\",\"recordingServerId\":\""
                + java.util.UUID.randomUUID()
                + "\",\"address\":\"http://10.0.0.9\"}");
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.json().get("code").asText()).isEqualTo("unknown_recording_server");
    Response notRecorder =
        post(
            "/api/v1/hardware",
            OPERATOR,
            "{\"name\":\"hw\",\"recordingServerId\":\""
                + gateway.json().get("id").asText()
                + "\",\"address\":\"http://10.0.0.9\"}");
    assertThat(notRecorder.status()).isEqualTo(400);
    assertThat(notRecorder.json().get("code").asText()).isEqualTo("not_a_recording_server");
    Response badId =
        post(
            "/api/v1/hardware",
            OPERATOR,
            "{\"name\":\"hw\",\"recordingServerId\":\"zzz\",\"address\":\"http://10.0.0.9\"}");
    assertThat(badId.status()).isEqualTo(400);
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void devicePasswordsAreWriteOnlyAndStoredEncrypted() {
    String rec = registerRecorder("rec-01").get("id").asText();
    String secret = "device-Secret-4711";
    Response hw =
        post(
            "/api/v1/hardware",
            OPERATOR,
            "{\"name\":\"hw\",\"recordingServerId\":\""
                + rec
                + "\",\"address\":\"http://10.0.0.9\",\"username\":\"root\",\"password\":\""
                + secret
                + "\"}");
    assertThat(hw.status()).as(hw.body()).isEqualTo(201);
    assertThat(hw.body()).doesNotContain(secret);
    assertThat(hw.json().get("passwordSet").asBoolean()).isTrue();
    assertThat(http.get("/api/v1/audit", ADMIN).body()).doesNotContain(secret);
    byte[] stored =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT password_protected FROM hardware")
                        .mapTo(byte[].class)
                        .one());
    assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain(secret);

    Response cleared =
        patch(
            "/api/v1/hardware/" + hw.json().get("id").asText(),
            OPERATOR,
            "{\"password\":\"\"}",
            "\"1\"");
    assertThat(cleared.status()).as(cleared.body()).isEqualTo(200);
    assertThat(cleared.json().get("passwordSet").asBoolean()).isFalse();
  }

  @Test
  void camerasFollowTheirHardwareAndChannelsAreUnique() {
    String rec = registerRecorder("rec-01").get("id").asText();
    String hw =
        post(
                "/api/v1/hardware",
                OPERATOR,
                "{\"name\":\"hw\",\"recordingServerId\":\""
                    + rec
                    + "\",\"address\":\"http://10.0.0.9\"}")
            .json()
            .get("id")
            .asText();
    Response cam =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"Entrance\",\"hardwareId\":\"" + hw + "\",\"channel\":0}");
    assertThat(cam.status()).as(cam.body()).isEqualTo(201);
    assertThat(cam.json().get("recordingServerId").asText()).isEqualTo(rec);

    String before = snapshot();
    Response dupChannel =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"Exit\",\"hardwareId\":\"" + hw + "\",\"channel\":0}");
    assertThat(dupChannel.status()).isEqualTo(409);
    assertThat(dupChannel.json().get("code").asText()).isEqualTo("duplicate_channel");
    Response dupName =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"ENTRANCE\",\"hardwareId\":\"" + hw + "\",\"channel\":1}");
    assertThat(dupName.json().get("code").asText()).isEqualTo("duplicate_name");
    Response badChannel =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"Exit\",\"hardwareId\":\"" + hw + "\",\"channel\":5000}");
    assertThat(badChannel.json().get("code").asText()).isEqualTo("invalid_channel");
    Response floatChannel =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"Exit\",\"hardwareId\":\"" + hw + "\",\"channel\":1.5}");
    assertThat(floatChannel.json().get("code").asText()).isEqualTo("wrong_type");
    Response stringChannel =
        post(
            "/api/v1/cameras",
            OPERATOR,
            "{\"name\":\"Exit\",\"hardwareId\":\"" + hw + "\",\"channel\":\"1\"}");
    assertThat(stringChannel.json().get("code").asText()).isEqualTo("wrong_type");
    assertThat(snapshot()).isEqualTo(before);

    JsonNode listed = http.get("/api/v1/cameras?recordingServerId=" + rec, VIEWER).json();
    assertThat(listed.get("items")).hasSize(1);

    // removing the hardware removes its cameras, each audited
    assertThat(http.send("DELETE", "/api/v1/hardware/" + hw, OPERATOR, null, Map.of()).status())
        .isEqualTo(204);
    assertThat(http.get("/api/v1/cameras/" + cam.json().get("id").asText(), VIEWER).status())
        .isEqualTo(404);
    assertThat(
            http.get("/api/v1/audit?objectType=camera", ADMIN)
                .json()
                .get("items")
                .get(0)
                .get("action")
                .asText())
        .isEqualTo("camera.removed");
  }

  // ---- components and the servers they registered

  Response delete(String path, String token) {
    return http.send("DELETE", path, token, null, Map.of());
  }

  Response heartbeat(String serverId, String token) {
    return http.send("POST", "/api/v1/servers/" + serverId + "/heartbeat", token, null, Map.of());
  }

  JsonNode addHardware(String token, String serverId, String name) {
    Response r =
        post(
            "/api/v1/hardware",
            token,
            "{\"name\":\""
                + name
                + "\",\"recordingServerId\":\""
                + serverId
                + "\",\"address\":\"rtsp://10.1.1.5\"}");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json();
  }

  JsonNode addCamera(String token, String hardwareId, String name, int channel) {
    Response r =
        post(
            "/api/v1/cameras",
            token,
            "{\"name\":\""
                + name
                + "\",\"hardwareId\":\""
                + hardwareId
                + "\",\"channel\":"
                + channel
                + "}");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json();
  }

  /** Asserts a 403 with {@code code} whose message names {@code serverId} and no Java type. */
  static void assertRefused(Response r, String code, String serverId) {
    assertThat(r.status()).as(r.body()).isEqualTo(403);
    assertThat(r.json().get("code").asText()).isEqualTo(code);
    String message = r.json().get("message").asText();
    assertThat(message).contains(serverId).doesNotContain("io.vigil").doesNotContain("Exception");
  }

  @Test
  void aServerRecordsTheComponentClientThatRegisteredIt() {
    JsonNode own = registerRecorder(RECORDER_A, "rec-a");
    assertThat(own.get("registeredBy").asText()).isEqualTo("rec-a-client");
    JsonNode read = http.get("/api/v1/servers/" + own.get("id").asText(), VIEWER).json();
    assertThat(read.get("registeredBy").asText()).isEqualTo("rec-a-client");

    JsonNode byOperator = registerRecorder("rec-op");
    assertThat(byOperator.has("registeredBy")).isTrue();
    assertThat(byOperator.get("registeredBy").isNull()).isTrue();

    JsonNode entry =
        http.get("/api/v1/audit?objectType=server&objectId=" + own.get("id").asText(), ADMIN)
            .json()
            .get("items")
            .get(0);
    assertThat(entry.get("after").get("registeredBy").asText()).isEqualTo("rec-a-client");
  }

  @Test
  void aComponentCannotChangeAnotherComponentsServer() {
    registerRecorder(RECORDER_A, "rec-a");
    String other = registerRecorder(RECORDER_B, "rec-b").get("id").asText();
    String path = "/api/v1/servers/" + other;
    String before = snapshot();
    String record = http.get(path, VIEWER).body();

    for (String change :
        List.of(
            "{\"address\":\"http://attacker.example:7563\"}",
            "{\"name\":\"rec-b-renamed\"}",
            "{\"version\":\"0.1\"}",
            "{\"status\":\"offline\"}")) {
      assertRefused(patch(path, RECORDER_A, change, "\"1\""), "not_your_server", other);
    }

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
  }

  @Test
  void aComponentCannotUnregisterOrHeartbeatAnotherComponentsServer() {
    registerRecorder(RECORDER_A, "rec-a");
    String other = registerRecorder(RECORDER_B, "rec-b").get("id").asText();
    String path = "/api/v1/servers/" + other;
    String before = snapshot();
    String record = http.get(path, VIEWER).body();

    assertRefused(delete(path, RECORDER_A), "not_your_server", other);
    assertRefused(heartbeat(other, RECORDER_A), "not_your_server", other);

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
    assertThat(http.get(path, VIEWER).json().get("lastSeenAt").isNull()).isTrue();
    assertThat(heartbeat(other, RECORDER_B).status()).isEqualTo(200);
  }

  @Test
  void aComponentCannotChangeAServerRegisteredByAUserOrBeforeRegistrantsWereRecorded() {
    String byOperator = registerRecorder("rec-op").get("id").asText();
    String legacy = java.util.UUID.randomUUID().toString();
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO servers (id, name, name_key, type, address, sw_version, status,"
                            + " revision, registered_at, updated_at) VALUES (:id, 'rec-old',"
                            + " 'rec-old', 'recording-server', 'http://rec-old:7563', '23.1',"
                            + " 'online', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
                    .bind("id", java.util.UUID.fromString(legacy))
                    .execute());
    assertThat(http.get("/api/v1/servers/" + legacy, VIEWER).json().get("registeredBy").isNull())
        .isTrue();
    String before = snapshot();

    for (String id : List.of(byOperator, legacy)) {
      String path = "/api/v1/servers/" + id;
      String record = http.get(path, VIEWER).body();
      assertRefused(
          patch(path, RECORDER_A, "{\"address\":\"http://attacker.example\"}", "\"1\""),
          "not_your_server",
          id);
      assertRefused(delete(path, RECORDER_A), "not_your_server", id);
      assertRefused(heartbeat(id, RECORDER_A), "not_your_server", id);
      assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
    }
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void aComponentCannotReEnableAServerAnOperatorDisabled() {
    String own = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String path = "/api/v1/servers/" + own;
    Response disabled = patch(path, OPERATOR, "{\"status\":\"disabled\"}", "\"1\"");
    assertThat(disabled.status()).as(disabled.body()).isEqualTo(200);
    String before = snapshot();
    String record = http.get(path, VIEWER).body();

    for (String status : List.of("online", "offline", "unknown", "disabled")) {
      assertRefused(
          patch(path, RECORDER_A, "{\"status\":\"" + status + "\"}", "\"2\""),
          "disabled_status_reserved",
          own);
    }
    Response beat = heartbeat(own, RECORDER_A);
    assertThat(beat.status()).isEqualTo(409);
    assertThat(beat.json().get("code").asText()).isEqualTo("server_disabled");

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
    assertThat(http.get(path, VIEWER).json().get("status").asText()).isEqualTo("disabled");
  }

  @Test
  void aComponentCannotDisableEvenItsOwnServer() {
    String own = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String path = "/api/v1/servers/" + own;
    String before = snapshot();
    String record = http.get(path, VIEWER).body();

    assertRefused(
        patch(path, RECORDER_A, "{\"status\":\"disabled\"}", "\"1\""),
        "disabled_status_reserved",
        own);
    assertRefused(
        patch(
            path,
            RECORDER_A,
            "{\"address\":\"http://rec-a2.local:7563\",\"status\":\"disabled\"}",
            "\"1\""),
        "disabled_status_reserved",
        own);

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
  }

  @Test
  void aComponentCanUpdateItsOwnServerAndItsCameras() {
    String own = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String path = "/api/v1/servers/" + own;

    Response changed =
        patch(
            path,
            RECORDER_A,
            "{\"address\":\"http://rec-a2.local:7563\",\"version\":\"24.2\",\"status\":\"offline\"}",
            "\"1\"");
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    assertThat(changed.json().get("address").asText()).isEqualTo("http://rec-a2.local:7563");
    assertThat(changed.json().get("status").asText()).isEqualTo("offline");
    assertThat(changed.json().get("registeredBy").asText()).isEqualTo("rec-a-client");
    Response beat = heartbeat(own, RECORDER_A);
    assertThat(beat.status()).as(beat.body()).isEqualTo(200);
    assertThat(beat.json().get("status").asText()).isEqualTo("online");

    String hw = addHardware(RECORDER_A, own, "hw-a").get("id").asText();
    String cam = addCamera(RECORDER_A, hw, "Entrance", 0).get("id").asText();
    Response renamed = patch("/api/v1/cameras/" + cam, RECORDER_A, "{\"name\":\"Lobby\"}", "\"1\"");
    assertThat(renamed.status()).as(renamed.body()).isEqualTo(200);
    assertThat(renamed.json().get("name").asText()).isEqualTo("Lobby");
    Response hwChanged =
        patch("/api/v1/hardware/" + hw, RECORDER_A, "{\"model\":\"P3265\"}", "\"1\"");
    assertThat(hwChanged.status()).as(hwChanged.body()).isEqualTo(200);

    assertThat(delete("/api/v1/cameras/" + cam, RECORDER_A).status()).isEqualTo(204);
    assertThat(delete("/api/v1/hardware/" + hw, RECORDER_A).status()).isEqualTo(204);
    assertThat(delete(path, RECORDER_A).status()).isEqualTo(204);
    assertThat(http.get(path, VIEWER).status()).isEqualTo(404);
  }

  @Test
  void aComponentCannotTouchHardwareOrCamerasOnAnotherComponentsServer() {
    String own = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String other = registerRecorder(RECORDER_B, "rec-b").get("id").asText();
    String byOperator = registerRecorder("rec-op").get("id").asText();
    String ownHw = addHardware(OPERATOR, own, "hw-a").get("id").asText();
    String otherHw = addHardware(OPERATOR, other, "hw-b").get("id").asText();
    String otherCam = addCamera(OPERATOR, otherHw, "Gate", 0).get("id").asText();
    String before = snapshot();
    String hwRecord = http.get("/api/v1/hardware/" + otherHw, VIEWER).body();
    String camRecord = http.get("/api/v1/cameras/" + otherCam, VIEWER).body();
    String ownHwRecord = http.get("/api/v1/hardware/" + ownHw, VIEWER).body();

    for (String server : List.of(other, byOperator)) {
      assertRefused(
          post(
              "/api/v1/hardware",
              RECORDER_A,
              "{\"name\":\"hw-x\",\"recordingServerId\":\""
                  + server
                  + "\",\"address\":\"rtsp://10.1.1.9\"}"),
          "not_your_server",
          server);
    }
    assertRefused(
        patch("/api/v1/hardware/" + otherHw, RECORDER_A, "{\"model\":\"x\"}", "\"1\""),
        "not_your_server",
        other);
    assertRefused(
        patch(
            "/api/v1/hardware/" + otherHw,
            RECORDER_A,
            "{\"recordingServerId\":\"" + own + "\"}",
            "\"1\""),
        "not_your_server",
        other);
    assertRefused(
        patch(
            "/api/v1/hardware/" + ownHw,
            RECORDER_A,
            "{\"recordingServerId\":\"" + other + "\"}",
            "\"1\""),
        "not_your_server",
        other);
    assertRefused(delete("/api/v1/hardware/" + otherHw, RECORDER_A), "not_your_server", other);
    assertRefused(
        post(
            "/api/v1/cameras",
            RECORDER_A,
            "{\"name\":\"Exit\",\"hardwareId\":\"" + otherHw + "\",\"channel\":1}"),
        "not_your_server",
        other);
    assertRefused(
        patch("/api/v1/cameras/" + otherCam, RECORDER_A, "{\"enabled\":false}", "\"1\""),
        "not_your_server",
        other);
    assertRefused(delete("/api/v1/cameras/" + otherCam, RECORDER_A), "not_your_server", other);

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get("/api/v1/hardware/" + otherHw, VIEWER).body()).isEqualTo(hwRecord);
    assertThat(http.get("/api/v1/cameras/" + otherCam, VIEWER).body()).isEqualTo(camRecord);
    assertThat(http.get("/api/v1/hardware/" + ownHw, VIEWER).body()).isEqualTo(ownHwRecord);
  }

  // ---- site settings

  @Test
  void theManagementServerAddressIsPublishedInSiteSettings() {
    Response site = http.get("/api/v1/site", VIEWER);
    assertThat(site.status()).isEqualTo(200);
    String etag = site.header("ETag");
    Response changed =
        patch("/api/v1/site", ADMIN, "{\"managementServerAddress\":\"http://MyCluster\"}", etag);
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    assertThat(changed.json().get("managementServerAddress").asText())
        .isEqualTo("http://MyCluster");
    String before = snapshot();
    Response bad =
        patch(
            "/api/v1/site",
            ADMIN,
            "{\"managementServerAddress\":\"MyCluster\"}",
            changed.header("ETag"));
    assertThat(bad.status()).isEqualTo(400);
    Response stale = patch("/api/v1/site", ADMIN, "{\"siteName\":\"HQ\"}", etag);
    assertThat(stale.status()).isEqualTo(409);
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void auditLogPagesNewestFirst() {
    for (int i = 0; i < 5; i++) {
      registerRecorder("rec-" + i);
    }
    JsonNode first = http.get("/api/v1/audit?limit=3", ADMIN).json();
    assertThat(first.get("items"))
        .extracting(n -> n.get("after").get("name").asText())
        .containsExactly("rec-4", "rec-3", "rec-2");
    JsonNode second =
        http.get("/api/v1/audit?limit=3&cursor=" + first.get("nextCursor").asText(), ADMIN).json();
    assertThat(second.get("items"))
        .extracting(n -> n.get("after").get("name").asText())
        .containsExactly("rec-1", "rec-0");
    assertThat(second.get("nextCursor").isNull()).isTrue();
    assertThat(http.get("/api/v1/audit?limit=0", ADMIN).status()).isEqualTo(400);
    assertThat(http.get("/api/v1/audit?cursor=x", ADMIN).status()).isEqualTo(400);
  }

  // ---- heartbeats and the data collector

  static final String FIGURES =
      "{\"cpuPercent\":42.5,\"memoryPercent\":61,\"disks\":[{\"volume\":\"D:\\\\\","
          + "\"freeBytes\":1000,\"totalBytes\":4000}],\"camerasRecording\":12,"
          + "\"storageUsedBytes\":3000,\"storageFreeBytes\":1000,\"streamsServed\":4}";

  Response heartbeat(String serverId, String token, String figures) {
    return post("/api/v1/servers/" + serverId + "/heartbeat", token, figures);
  }

  @Test
  void aHeartbeatStoresItsLoadFiguresAndTheServerShowsThem() {
    String id = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String path = "/api/v1/servers/" + id;
    JsonNode fresh = http.get(path, VIEWER).json();
    assertThat(fresh.get("connection").asText()).isEqualTo("unknown");
    assertThat(fresh.get("load").isNull()).isTrue();
    String before = snapshot();

    Response beat = heartbeat(id, RECORDER_A, FIGURES);
    assertThat(beat.status()).as(beat.body()).isEqualTo(200);
    for (JsonNode shown : List.of(beat.json(), http.get(path, VIEWER).json())) {
      assertThat(shown.get("connection").asText()).isEqualTo("online");
      assertThat(shown.get("status").asText()).isEqualTo("online");
      assertThat(shown.get("lastSeenAt").isNull()).isFalse();
      JsonNode load = shown.get("load");
      assertThat(load.get("cpuPercent").asDouble()).isEqualTo(42.5);
      assertThat(load.get("memoryPercent").asDouble()).isEqualTo(61.0);
      assertThat(load.get("disks").get(0).get("volume").asText()).isEqualTo("D:\\");
      assertThat(load.get("disks").get(0).get("freeBytes").asLong()).isEqualTo(1000);
      assertThat(load.get("disks").get(0).get("totalBytes").asLong()).isEqualTo(4000);
      assertThat(load.get("camerasRecording").asLong()).isEqualTo(12);
      assertThat(load.get("storageUsedBytes").asLong()).isEqualTo(3000);
      assertThat(load.get("storageFreeBytes").asLong()).isEqualTo(1000);
      assertThat(load.get("streamsServed").asLong()).isEqualTo(4);
    }

    // Online already: the one-statement way. New figures replace the old; none keeps them.
    Response next = heartbeat(id, RECORDER_A, "{\"cpuPercent\":7}");
    assertThat(next.status()).as(next.body()).isEqualTo(200);
    assertThat(next.json().get("load").get("cpuPercent").asDouble()).isEqualTo(7.0);
    assertThat(next.json().get("load").get("disks").isNull()).isTrue();
    Response bare = heartbeat(id, RECORDER_A);
    assertThat(bare.status()).as(bare.body()).isEqualTo(200);
    assertThat(bare.json().get("load").get("cpuPercent").asDouble()).isEqualTo(7.0);

    // Heartbeats change no revision and write no audit entry.
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void badLoadFiguresAreRefusedAndChangeNothing() {
    String id = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    assertThat(heartbeat(id, RECORDER_A, FIGURES).status()).isEqualTo(200);
    String path = "/api/v1/servers/" + id;
    String before = snapshot();
    String record = http.get(path, VIEWER).body();
    StringBuilder tooMany = new StringBuilder("{\"disks\":[");
    for (int i = 0; i < 33; i++) {
      tooMany.append(i == 0 ? "" : ",").append("{\"volume\":\"v").append(i);
      tooMany.append("\",\"freeBytes\":1,\"totalBytes\":2}");
    }
    tooMany.append("]}");

    for (String bad :
        List.of(
            "{\"cpuPercent\":100.5}",
            "{\"cpuPercent\":-1}",
            "{\"memoryPercent\":101}",
            "{\"cpuPercent\":\"50\"}",
            "{\"camerasRecording\":-1}",
            "{\"storageUsedBytes\":-5}",
            "{\"storageFreeBytes\":-5}",
            "{\"streamsServed\":-1}",
            "{\"disks\":[{\"volume\":\"C:\",\"freeBytes\":5,\"totalBytes\":4}]}",
            "{\"disks\":[{\"volume\":\"C:\",\"freeBytes\":-1,\"totalBytes\":4}]}",
            "{\"disks\":[{\"volume\":\" \",\"freeBytes\":1,\"totalBytes\":4}]}",
            "{\"disks\":[{\"freeBytes\":1,\"totalBytes\":4}]}",
            "{\"disks\":[{\"volume\":\"C:\",\"totalBytes\":4}]}",
            "{\"disks\":[null]}",
            "{\"temperature\":40}",
            tooMany.toString())) {
      Response r = heartbeat(id, RECORDER_A, bad);
      assertThat(r.status()).as(bad + " -> " + r.body()).isEqualTo(400);
      String message = r.json().get("message").asText();
      assertThat(message).doesNotContain("io.vigil").doesNotContain("Exception");
    }

    assertThat(snapshot()).isEqualTo(before);
    assertThat(http.get(path, VIEWER).body()).isEqualTo(record);
  }

  @Test
  void heartbeatIntervalDefaultsToFiveSecondsAndIsBounded() {
    JsonNode plain = registerRecorder("rec-plain");
    assertThat(plain.get("heartbeatIntervalSeconds").asInt()).isEqualTo(5);
    String before = snapshot();
    for (String bad : List.of("0", "-1", "3601", "\"10\"", "1.5")) {
      Response r =
          post(
              "/api/v1/servers",
              OPERATOR,
              "{\"name\":\"rec-bad\",\"type\":\"recording-server\",\"address\":\"http://rec:7563\","
                  + "\"heartbeatIntervalSeconds\":"
                  + bad
                  + "}");
      assertThat(r.status()).as(bad + " -> " + r.body()).isEqualTo(400);
    }
    assertThat(snapshot()).isEqualTo(before);

    for (int seconds : List.of(1, 3600)) {
      Response r =
          post(
              "/api/v1/servers",
              OPERATOR,
              "{\"name\":\"rec-"
                  + seconds
                  + "\",\"type\":\"recording-server\",\"address\":\"http://rec:7563\","
                  + "\"heartbeatIntervalSeconds\":"
                  + seconds
                  + "}");
      assertThat(r.status()).as(r.body()).isEqualTo(201);
      assertThat(r.json().get("heartbeatIntervalSeconds").asInt()).isEqualTo(seconds);
      assertThat(
              http.get("/api/v1/servers/" + r.json().get("id").asText(), VIEWER)
                  .json()
                  .get("heartbeatIntervalSeconds")
                  .asInt())
          .isEqualTo(seconds);
    }

    String path = "/api/v1/servers/" + plain.get("id").asText();
    Response changed = patch(path, OPERATOR, "{\"heartbeatIntervalSeconds\":30}", "\"1\"");
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    assertThat(changed.json().get("heartbeatIntervalSeconds").asInt()).isEqualTo(30);
    assertThat(patch(path, OPERATOR, "{\"heartbeatIntervalSeconds\":0}", "\"2\"").status())
        .isEqualTo(400);
  }

  DataCollector collector() {
    return new DataCollector(fence, db.dialect(), new ServerLiveness(3), EventStore.siteEvents());
  }

  /** Moves a server's times back, as if the database's clock had moved on by that much. */
  void age(String serverId, long seconds) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "UPDATE servers SET registered_at = :then, last_seen_at = CASE WHEN"
                            + " last_seen_at IS NULL THEN NULL ELSE :then END WHERE id = :id")
                    .bind("then", java.time.OffsetDateTime.now().minusSeconds(seconds))
                    .bind("id", java.util.UUID.fromString(serverId))
                    .execute());
  }

  List<String> events(String serverId) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT type FROM events WHERE source = :id ORDER BY id")
                    .bind("id", serverId)
                    .mapTo(String.class)
                    .list());
  }

  @Test
  void theDataCollectorMarksSilentServersOfflineAndAHeartbeatBringsThemBack() {
    String beating = registerRecorder(RECORDER_A, "rec-a").get("id").asText();
    String neverSeen = registerRecorder("rec-never").get("id").asText();
    String disabled = registerRecorder("rec-disabled").get("id").asText();
    String recent = registerRecorder("rec-recent").get("id").asText();
    assertThat(heartbeat(beating, RECORDER_A, FIGURES).status()).isEqualTo(200);
    assertThat(
            patch("/api/v1/servers/" + disabled, OPERATOR, "{\"status\":\"disabled\"}", "\"1\"")
                .status())
        .isEqualTo(200);
    DataCollector collector = collector();
    assertThat(collector.sweep()).isZero();

    // Three intervals of 5 s are 15 s: 14 s of silence is not enough, 16 s is.
    for (String id : List.of(beating, neverSeen, disabled)) {
      age(id, 14);
    }
    assertThat(collector.sweep()).isZero();
    for (String id : List.of(beating, neverSeen, disabled)) {
      age(id, 16);
    }
    assertThat(collector.sweep()).isEqualTo(2);
    assertThat(collector.sweep()).as("offline already: no second event").isZero();

    JsonNode off = http.get("/api/v1/servers/" + beating, VIEWER).json();
    assertThat(off.get("connection").asText()).isEqualTo("offline");
    assertThat(off.get("status").asText()).isEqualTo("offline");
    assertThat(off.get("load").get("camerasRecording").asLong()).isEqualTo(12);
    assertThat(http.get("/api/v1/servers/" + neverSeen, VIEWER).json().get("connection").asText())
        .isEqualTo("offline");
    JsonNode stillDisabled = http.get("/api/v1/servers/" + disabled, VIEWER).json();
    assertThat(stillDisabled.get("status").asText()).isEqualTo("disabled");
    assertThat(stillDisabled.get("connection").asText()).isEqualTo("unknown");
    assertThat(http.get("/api/v1/servers/" + recent, VIEWER).json().get("connection").asText())
        .isEqualTo("unknown");
    assertThat(events(beating)).containsExactly("server.offline");
    assertThat(events(neverSeen)).containsExactly("server.offline");
    assertThat(events(disabled)).isEmpty();

    Response back = heartbeat(beating, RECORDER_A);
    assertThat(back.status()).as(back.body()).isEqualTo(200);
    assertThat(back.json().get("connection").asText()).isEqualTo("online");
    assertThat(events(beating)).containsExactly("server.offline", "server.online");
    assertThat(collector.sweep()).isZero();
    assertThat(heartbeat(beating, RECORDER_A).status()).isEqualTo(200);
    assertThat(events(beating)).as("online already: no second event").hasSize(2);
  }

  @Test
  void aServerWithAOneSecondIntervalGoesOfflineWithinSeconds() {
    Response r =
        post(
            "/api/v1/servers",
            RECORDER_A,
            "{\"name\":\"rec-fast\",\"type\":\"recording-server\",\"address\":\"http://rec:7563\","
                + "\"heartbeatIntervalSeconds\":1}");
    String id = r.json().get("id").asText();
    assertThat(heartbeat(id, RECORDER_A).status()).isEqualTo(200);
    DataCollector collector =
        new DataCollector(fence, db.dialect(), new ServerLiveness(1), EventStore.siteEvents());
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(200))
        .until(() -> collector.sweep() == 1);
    assertThat(http.get("/api/v1/servers/" + id, VIEWER).json().get("connection").asText())
        .isEqualTo("offline");
  }

  // ---- conditional reads

  Response getIfNoneMatch(String path, String token, String etag) {
    return http.send("GET", path, token, null, Map.of("If-None-Match", etag));
  }

  @Test
  void aListAnswersAnEtagAndTheSameGetWithIfNoneMatchAnswers304WithNoBody() {
    registerRecorder("rec-01");
    Response first = http.get("/api/v1/servers", VIEWER);
    assertThat(first.status()).isEqualTo(200);
    String etag = first.header("ETag");
    assertThat(etag).matches("\"[A-Za-z0-9_-]{22}\"");
    assertThat(first.header("Cache-Control")).isEqualTo("private, no-cache");

    Response again = getIfNoneMatch("/api/v1/servers", VIEWER, etag);
    assertThat(again.status()).isEqualTo(304);
    assertThat(again.body()).isEmpty();
    assertThat(again.header("ETag")).isEqualTo(etag);
    assertThat(again.header("Cache-Control")).isEqualTo("private, no-cache");
    // Weak comparison, lists and * (RFC 9110 13.1.2).
    assertThat(getIfNoneMatch("/api/v1/servers", VIEWER, "W/" + etag).status()).isEqualTo(304);
    assertThat(getIfNoneMatch("/api/v1/servers", VIEWER, "\"x\", " + etag).status()).isEqualTo(304);
    assertThat(getIfNoneMatch("/api/v1/servers", VIEWER, "*").status()).isEqualTo(304);
    assertThat(getIfNoneMatch("/api/v1/servers", VIEWER, "\"x\"").status()).isEqualTo(200);
  }

  @Test
  void aChangeMakesTheNextGetOfTheListAnswer200WithANewEtag() {
    JsonNode s = registerRecorder("rec-01");
    String etag = http.get("/api/v1/servers", VIEWER).header("ETag");
    patch(
        "/api/v1/servers/" + s.get("id").asText(),
        OPERATOR,
        "{\"version\":\"24.2\"}",
        "\"" + s.get("revision").asLong() + "\"");

    Response after = getIfNoneMatch("/api/v1/servers", VIEWER, etag);
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.header("ETag")).isNotEqualTo(etag);
    assertThat(after.json().get("items").get(0).get("version").asText()).isEqualTo("24.2");

    String registered = after.header("ETag");
    registerRecorder("rec-02");
    Response listed = getIfNoneMatch("/api/v1/servers", VIEWER, registered);
    assertThat(listed.status()).isEqualTo(200);
    assertThat(listed.json().get("items")).hasSize(2);
  }

  @Test
  void aHeartbeatMakesTheNextGetOfTheListAnswer200() {
    JsonNode s = registerRecorder(RECORDER_A, "rec-01");
    String etag = http.get("/api/v1/servers", VIEWER).header("ETag");
    assertThat(heartbeat(s.get("id").asText(), RECORDER_A).status()).isEqualTo(200);

    Response after = getIfNoneMatch("/api/v1/servers", VIEWER, etag);
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.json().get("items").get(0).get("status").asText()).isEqualTo("online");
  }

  @Test
  void anObjectAnswers304ForItsRevisionAndItsChangeAnswers200WithTheNewRevision() {
    String server = registerRecorder("rec-01").get("id").asText();
    JsonNode hw = addHardware(OPERATOR, server, "cam-box");
    String path = "/api/v1/hardware/" + hw.get("id").asText();
    Response got = http.get(path, VIEWER);
    assertThat(got.header("ETag")).isEqualTo("\"1\"");
    assertThat(got.header("Cache-Control")).isEqualTo("private, no-cache");

    Response same = getIfNoneMatch(path, VIEWER, "\"1\"");
    assertThat(same.status()).isEqualTo(304);
    assertThat(same.body()).isEmpty();
    assertThat(same.header("ETag")).isEqualTo("\"1\"");

    assertThat(patch(path, OPERATOR, "{\"name\":\"cam-box-2\"}", "\"1\"").status()).isEqualTo(200);
    Response changed = getIfNoneMatch(path, VIEWER, "\"1\"");
    assertThat(changed.status()).isEqualTo(200);
    assertThat(changed.header("ETag")).isEqualTo("\"2\"");
    assertThat(changed.json().get("name").asText()).isEqualTo("cam-box-2");

    Response site = http.get("/api/v1/site", VIEWER);
    assertThat(getIfNoneMatch("/api/v1/site", VIEWER, site.header("ETag")).status()).isEqualTo(304);
  }

  @Test
  void aServerAnswers304UntilAHeartbeatChangesItAndItsEtagStillServesIfMatchByItsRevision() {
    String id = registerRecorder(RECORDER_A, "rec-01").get("id").asText();
    String path = "/api/v1/servers/" + id;
    Response before = http.get(path, VIEWER);
    String etag = before.header("ETag");
    assertThat(etag)
        .as("the revision, then the answer's hash")
        .matches("\"1\\.[A-Za-z0-9_-]{22}\"");
    assertThat(before.json().get("lastSeenAt").isNull()).isTrue();
    assertThat(getIfNoneMatch(path, VIEWER, etag).status()).isEqualTo(304);
    assertThat(getIfNoneMatch(path, VIEWER, "\"1\"").status())
        .as("the revision alone does not name the answer")
        .isEqualTo(200);

    assertThat(heartbeat(id, RECORDER_A).status()).isEqualTo(200);
    Response after = getIfNoneMatch(path, VIEWER, etag);
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.json().get("lastSeenAt").isNull()).isFalse();
    assertThat(after.header("ETag")).startsWith("\"1.").isNotEqualTo(etag);

    Response changed = patch(path, ADMIN, "{\"address\":\"http://rec-01b:7563\"}", etag);
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    assertThat(changed.header("ETag")).isEqualTo("\"2\"");
    assertThat(patch(path, ADMIN, "{\"address\":\"http://rec-01c:7563\"}", etag).status())
        .as("a read of revision 1")
        .isEqualTo(409);
  }

  @Test
  void aCallerNeverGets304ForAnAnswerItMayNotSeeOrThatShowsItSomethingElse() {
    registerRecorder("rec-01");
    registerRecorder("rec-02");
    Response audit = http.get("/api/v1/audit", ADMIN);
    assertThat(audit.status()).isEqualTo(200);
    for (String token : List.of(VIEWER, RECORDER_A)) {
      Response refused = getIfNoneMatch("/api/v1/audit", token, audit.header("ETag"));
      assertThat(refused.status()).as(token).isEqualTo(403);
      assertThat(refused.json().get("code").asText()).isEqualTo("forbidden");
      assertThat(refused.header("ETag")).isNull();
    }
    Response refused = getIfNoneMatch("/api/v1/audit", null, audit.header("ETag"));
    assertThat(refused.status()).isEqualTo(401);

    String all = http.get("/api/v1/servers", VIEWER).header("ETag");
    Response page = getIfNoneMatch("/api/v1/servers?limit=1", VIEWER, all);
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.json().get("items")).hasSize(1);
    assertThat(page.header("ETag")).isNotEqualTo(all);
  }

  @Test
  void anUnregistrationAndAServerGoingOfflineShowInTheNextReadOfTheList() {
    Response r =
        post(
            "/api/v1/servers",
            RECORDER_A,
            "{\"name\":\"rec-fast\",\"type\":\"recording-server\",\"address\":\"http://rec:7563\","
                + "\"heartbeatIntervalSeconds\":1}");
    String id = r.json().get("id").asText();
    String gone = registerRecorder("rec-gone").get("id").asText();
    assertThat(heartbeat(id, RECORDER_A).status()).isEqualTo(200);
    assertThat(http.get("/api/v1/servers", VIEWER).json().get("items")).hasSize(2);

    assertThat(delete("/api/v1/servers/" + gone, OPERATOR).status()).isEqualTo(204);
    JsonNode left = http.get("/api/v1/servers", VIEWER).json().get("items");
    assertThat(left).extracting(n -> n.get("name").asText()).containsExactly("rec-fast");
    assertThat(left.get(0).get("connection").asText()).isEqualTo("online");

    DataCollector collector =
        new DataCollector(fence, db.dialect(), new ServerLiveness(1), EventStore.siteEvents());
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(200))
        .until(() -> collector.sweep() == 1);
    assertThat(
            http.get("/api/v1/servers", VIEWER)
                .json()
                .get("items")
                .get(0)
                .get("connection")
                .asText())
        .isEqualTo("offline");
  }
}
