package io.vigil.server.events;

import static io.vigil.server.testing.TestApiServer.component;
import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.management.Devices;
import io.vigil.server.management.ManagementRoutes;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.management.SiteSettings;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestApiServer;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import io.vigil.server.testing.TestProtector;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The events API and the retention purge, run against each database Vigil supports: {@link
 * EventsApiH2Test}, {@link EventsApiPostgresIT}. Tokens are mapped to callers by a fixed table.
 */
abstract class EventsApiContract {

  static final String ADMIN = "admin-token";
  static final String OPERATOR = "operator-token";
  static final String VIEWER = "viewer-token";
  static final String RECORDER_A = "recorder-a-token";
  static final String RECORDER_B = "recorder-b-token";

  Database db;
  EventStore store;
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
    Fence fence = Fence.unfenced(db.jdbi());
    store = new EventStore(fence);
    server =
        TestApiServer.start(
            callers,
            4 * 1024 * 1024,
            List.of(
                new ManagementRoutes(
                    new ServerRegistry(fence, db.dialect(), EventStore.siteEvents()),
                    new Devices(fence, new TestProtector()),
                    new SiteSettings(fence),
                    new AuditLog(db.jdbi())),
                new EventRoutes(store)));
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  @AfterEach
  void stop() {
    server.close();
    db.close();
  }

  Response post(String path, String token, String json) {
    return http.send("POST", path, token, json, Map.of());
  }

  String created(String path, String token, String json) {
    Response r = post(path, token, json);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  String recorder(String token, String name) {
    return created(
        "/api/v1/servers",
        token,
        "{\"name\":\""
            + name
            + "\",\"type\":\"recording-server\",\"address\":\"http://"
            + name
            + ".local:7563\"}");
  }

  String hardware(String token, String recorder, String name) {
    return created(
        "/api/v1/hardware",
        token,
        "{\"name\":\""
            + name
            + "\",\"recordingServerId\":\""
            + recorder
            + "\",\"address\":\"http://10.0.0.9\"}");
  }

  String camera(String token, String hardware, String name) {
    return created(
        "/api/v1/cameras",
        token,
        "{\"name\":\"" + name + "\",\"hardwareId\":\"" + hardware + "\",\"channel\":0}");
  }

  static String event(String type, String source, String more) {
    return "{\"type\":\""
        + type
        + "\",\"source\":\""
        + source
        + "\",\"severity\":\"info\""
        + (more.isEmpty() ? "" : "," + more)
        + "}";
  }

  static String batch(List<String> events) {
    return "{\"events\":[" + String.join(",", events) + "]}";
  }

  Response postEvents(String token, String body) {
    return post("/api/v1/events", token, body);
  }

  List<Long> ids(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    List<Long> ids = new ArrayList<>();
    r.json().get("ids").forEach(n -> ids.add(n.asLong()));
    return ids;
  }

  long count() {
    return db.jdbi()
        .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM events").mapTo(Long.class).one());
  }

  List<String> types(JsonNode page) {
    List<String> types = new ArrayList<>();
    page.get("items").forEach(n -> types.add(n.get("type").asText()));
    return types;
  }

  // ---- ingest

  @Test
  void oneEventIsStoredWithTheDatabasesTimeAndReadBack() {
    Instant before = db.now();
    Response r =
        postEvents(
            OPERATOR,
            "{\"type\":\"door.forced\",\"source\":\"external:access-control\","
                + "\"severity\":\"critical\",\"message\":\" Door 4 forced \","
                + "\"data\":{\"door\":4,\"tags\":[\"north\"]},\"idempotencyKey\":\"k-1\"}");
    List<Long> ids = ids(r);
    assertThat(ids).hasSize(1);
    assertThat(r.json().get("duplicates").asInt()).isZero();

    JsonNode e = http.get("/api/v1/events", VIEWER).json().get("items").get(0);
    assertThat(e.get("id").asLong()).isEqualTo(ids.get(0));
    assertThat(e.get("type").asText()).isEqualTo("door.forced");
    assertThat(e.get("source").asText()).isEqualTo("external:access-control");
    assertThat(e.get("severity").asText()).isEqualTo("critical");
    assertThat(e.get("message").asText()).isEqualTo("Door 4 forced");
    assertThat(e.get("data").get("door").asInt()).isEqualTo(4);
    assertThat(e.get("data").get("tags").get(0).asText()).isEqualTo("north");
    assertThat(e.get("idempotencyKey").asText()).isEqualTo("k-1");
    Instant time = Instant.parse(e.get("time").asText());
    assertThat(time).isEqualTo(Instant.parse(e.get("receivedAt").asText()));
    assertThat(time).isAfterOrEqualTo(before.minusSeconds(1)).isBeforeOrEqualTo(db.now());
  }

  @Test
  void theClientsTimeIsKeptAndTheIdsFollowTheOrderOfABatch() {
    String rec = recorder(OPERATOR, "rec-01");
    List<Long> ids =
        ids(
            postEvents(
                OPERATOR,
                batch(
                    List.of(
                        event("a.one", rec, "\"time\":\"2026-01-02T03:04:05+01:00\""),
                        event("a.two", rec, ""),
                        event("a.three", "external:x", "")))));
    assertThat(ids).hasSize(3).isSorted().doesNotHaveDuplicates();
    JsonNode page = http.get("/api/v1/events", VIEWER).json();
    assertThat(types(page)).containsExactly("a.three", "a.two", "a.one");
    assertThat(page.get("items").get(2).get("time").asText()).isEqualTo("2026-01-02T02:04:05Z");
  }

  @Test
  void aRetriedEventIsStoredOnceAndAnsweredWithTheSameId() {
    String body = event("door.opened", "external:door", "\"idempotencyKey\":\"evt-7\"");
    List<Long> first = ids(postEvents(OPERATOR, body));
    Response retry = postEvents(OPERATOR, body);
    assertThat(ids(retry)).isEqualTo(first);
    assertThat(retry.json().get("duplicates").asInt()).isEqualTo(1);
    assertThat(count()).isEqualTo(1);

    // In a batch with a new one, and twice within the batch itself.
    String fresh = event("door.opened", "external:door", "\"idempotencyKey\":\"evt-8\"");
    Response mixed = postEvents(OPERATOR, batch(List.of(body, fresh, fresh)));
    List<Long> ids = ids(mixed);
    assertThat(ids.get(0)).isEqualTo(first.get(0));
    assertThat(ids.get(1)).isEqualTo(ids.get(2)).isNotEqualTo(first.get(0));
    assertThat(mixed.json().get("duplicates").asInt()).isEqualTo(2);
    assertThat(count()).isEqualTo(2);

    // The key is per source: the same key from another source is another event.
    ids(
        postEvents(
            OPERATOR, event("door.opened", "external:gate", "\"idempotencyKey\":\"evt-7\"")));
    assertThat(count()).isEqualTo(3);
  }

  @Test
  void concurrentRetriesOfOneBatchAreStoredOnceAndAllAnsweredWithTheSameIds() throws Exception {
    List<String> events =
        IntStream.range(0, 20)
            .mapToObj(i -> event("race.test", "external:race", "\"idempotencyKey\":\"" + i + "\""))
            .toList();
    String body = batch(events);
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
      List<java.util.concurrent.Future<List<Long>>> answers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        answers.add(pool.submit(() -> ids(postEvents(OPERATOR, body))));
      }
      List<Long> first = answers.get(0).get();
      for (var answer : answers) {
        assertThat(answer.get()).isEqualTo(first);
      }
    }
    assertThat(count()).isEqualTo(20);
  }

  @Test
  void aThousandEventsAreStoredAndOneMoreIsRefusedWithNothingStored() {
    List<String> many =
        IntStream.range(0, EventInput.MAX_BATCH + 1)
            .mapToObj(i -> event("load.test", "external:bench", "\"idempotencyKey\":\"" + i + "\""))
            .toList();
    Response tooMany = postEvents(OPERATOR, batch(many));
    assertThat(tooMany.status()).isEqualTo(400);
    assertThat(tooMany.json().get("code").asText()).isEqualTo("invalid_batch");
    assertThat(count()).isZero();

    assertThat(ids(postEvents(OPERATOR, batch(many.subList(0, EventInput.MAX_BATCH)))))
        .hasSize(EventInput.MAX_BATCH);
    assertThat(count()).isEqualTo(EventInput.MAX_BATCH);
  }

  @Test
  void badEventsAreRefusedWithAStableCodeAndNothingIsStored() {
    String rec = recorder(OPERATOR, "rec-01");
    String good = event("ok.event", rec, "");
    record Case(String body, String code) {}
    List<Case> cases =
        List.of(
            new Case(event("Door.Forced", rec, ""), "invalid_event_type"),
            new Case(event("door..forced", rec, ""), "invalid_event_type"),
            new Case(event("door.forced.", rec, ""), "invalid_event_type"),
            new Case(event("a" + "b".repeat(100), rec, ""), "invalid_event_type"),
            new Case("{\"source\":\"" + rec + "\",\"severity\":\"info\"}", "missing_field"),
            new Case(
                "{\"type\":\"a.b\",\"source\":\"" + rec + "\",\"severity\":\"loud\"}",
                "invalid_severity"),
            new Case("{\"type\":\"a.b\",\"source\":\"" + rec + "\"}", "missing_field"),
            new Case(event("a.b", "rec-01", ""), "invalid_source"),
            new Case(event("a.b", "external:", ""), "invalid_source"),
            new Case(event("a.b", "external:a b", ""), "invalid_source"),
            new Case(event("a.b", "node:vigil-1", ""), "reserved_source"),
            new Case(event("a.b", "00000000-0000-0000-0000-000000000000", ""), "unknown_source"),
            new Case(event("a.b", rec, "\"data\":[1,2]"), "invalid_data"),
            new Case(event("a.b", rec, "\"data\":\"text\""), "invalid_data"),
            new Case(
                event(
                    "a.b",
                    rec,
                    "\"data\":{\"x\":\"" + "y".repeat(EventInput.MAX_DATA_BYTES) + "\"}"),
                "data_too_large"),
            new Case(event("a.b", rec, "\"data\":{\"x\":\"\\ud800\"}"), "invalid_text"),
            new Case(event("a.b", rec, "\"data\":{\"x\":1,\"x\":2}"), "malformed_json"),
            new Case(
                event("a.b", rec, "\"message\":\"" + "m".repeat(1001) + "\""), "invalid_value"),
            new Case(event("a.b", rec, "\"message\":\"line\\u0007\""), "invalid_value"),
            new Case(event("a.b", rec, "\"idempotencyKey\":\"\""), "invalid_value"),
            new Case(event("a.b", rec, "\"time\":\"yesterday\""), "invalid_time"),
            new Case(event("a.b", rec, "\"time\":\"2026-01-02T03:04:05\""), "invalid_time"),
            new Case(event("a.b", rec, "\"colour\":\"red\""), "unknown_field"),
            new Case(batch(List.of()), "invalid_batch"),
            new Case("{\"type\":\"a.b\",\"events\":[" + good + "]}", "mixed_body"),
            new Case(
                batch(
                    List.of(
                        good, "{\"type\":\"a.b\",\"source\":\"" + rec + "\",\"severity\":\"x\"}")),
                "invalid_severity"),
            new Case(batch(List.of(good, event("BAD", rec, ""))), "invalid_event_type"),
            new Case(
                batch(List.of(good, event("a.b", "11111111-1111-1111-1111-111111111111", ""))),
                "unknown_source"));
    for (Case c : cases) {
      Response r = postEvents(OPERATOR, c.body());
      assertThat(r.status()).as(c.body() + " -> " + r.body()).isEqualTo(400);
      assertThat(r.json().get("code").asText()).as(c.body()).isEqualTo(c.code());
      assertThat(r.json().get("message").asText()).isNotBlank().doesNotContain("java.");
    }
    assertThat(count()).isZero();

    Response inBatch = postEvents(OPERATOR, batch(List.of(good, event("BAD", rec, ""))));
    assertThat(inBatch.json().get("message").asText()).contains("events[1].type");
  }

  @Test
  void aComponentPostsOnlyAboutItsOwnServerAndTheDevicesOnIt() {
    String own = recorder(RECORDER_A, "rec-a");
    String ownHw = hardware(RECORDER_A, own, "hw-a");
    String ownCam = camera(RECORDER_A, ownHw, "cam-a");
    String other = recorder(RECORDER_B, "rec-b");
    String otherHw = hardware(RECORDER_B, other, "hw-b");
    String otherCam = camera(RECORDER_B, otherHw, "cam-b");
    String operators = recorder(OPERATOR, "rec-o");

    assertThat(
            ids(
                postEvents(
                    RECORDER_A,
                    batch(
                        List.of(
                            event("server.load", own, ""),
                            event("hardware.lost", ownHw, ""),
                            event("camera.motion", ownCam, ""))))))
        .hasSize(3);

    for (String source : List.of(other, otherHw, otherCam, operators, "external:door")) {
      Response r =
          postEvents(RECORDER_A, batch(List.of(event("x.y", own, ""), event("x.y", source, ""))));
      assertThat(r.status()).as(source + ": " + r.body()).isEqualTo(403);
      assertThat(r.json().get("code").asText()).isEqualTo("not_your_server");
    }
    assertThat(count()).isEqualTo(3);

    // Operators and administrators post about anything.
    ids(postEvents(OPERATOR, event("x.y", otherCam, "")));
    ids(postEvents(ADMIN, event("x.y", own, "")));
    assertThat(count()).isEqualTo(5);
  }

  @Test
  void permissionsAreEnforced() {
    Response viewerPost = postEvents(VIEWER, event("a.b", "external:x", ""));
    assertThat(viewerPost.status()).isEqualTo(403);
    assertThat(http.get("/api/v1/events", RECORDER_A).status()).isEqualTo(403);
    assertThat(http.get("/api/v1/events", null).status()).isEqualTo(401);
    assertThat(count()).isZero();
  }

  // ---- query

  @Test
  void theQueryFiltersByTypeSourceAndTimeAndPagesNewestFirst() {
    String rec = recorder(OPERATOR, "rec-01");
    List<String> events = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      String type = i % 2 == 0 ? "camera.motion" : "server.load";
      String source = i < 4 ? rec : "external:x";
      events.add(
          event(
              type,
              source,
              "\"time\":\"2026-03-0" + (i + 1) + "T00:00:00Z\",\"message\":\"" + i + "\""));
    }
    ids(postEvents(OPERATOR, batch(events)));

    assertThat(messages(http.get("/api/v1/events?type=camera.motion", VIEWER).json()))
        .containsExactly("6", "4", "2", "0");
    assertThat(
            messages(
                http.get("/api/v1/events?source=" + rec.toUpperCase(java.util.Locale.ROOT), VIEWER)
                    .json()))
        .containsExactly("3", "2", "1", "0");
    assertThat(
            messages(
                http.get(
                        "/api/v1/events?since=2026-03-02T00:00:00Z&until=2026-03-04T00:00:00Z",
                        VIEWER)
                    .json()))
        .containsExactly("2", "1");
    assertThat(
            messages(http.get("/api/v1/events?type=server.load&source=external:x", VIEWER).json()))
        .containsExactly("5");

    List<String> seen = new ArrayList<>();
    String cursor = "";
    int pages = 0;
    do {
      JsonNode page = http.get("/api/v1/events?limit=3&cursor=" + cursor, VIEWER).json();
      seen.addAll(messages(page));
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      pages++;
    } while (cursor != null);
    assertThat(pages).isEqualTo(3);
    assertThat(seen).containsExactly("6", "5", "4", "3", "2", "1", "0");
  }

  @Test
  void badQueryParametersAre400() {
    record Case(String query, String code) {}
    for (Case c :
        List.of(
            new Case("cursor=abc", "invalid_cursor"),
            new Case("cursor=" + EventCursor.before(5) + "x", "invalid_cursor"),
            new Case("since=yesterday", "invalid_time"),
            new Case("until=2026-01-01", "invalid_time"),
            new Case("type=Not.A.Type", "invalid_event_type"),
            new Case("source=nope", "invalid_source"),
            new Case("limit=0", "invalid_limit"))) {
      Response r = http.get("/api/v1/events?" + c.query(), VIEWER);
      assertThat(r.status()).as(c.query() + " -> " + r.body()).isEqualTo(400);
      assertThat(r.json().get("code").asText()).as(c.query()).isEqualTo(c.code());
    }
  }

  static List<String> messages(JsonNode page) {
    List<String> out = new ArrayList<>();
    page.get("items").forEach(n -> out.add(n.get("message").asText()));
    return out;
  }

  // ---- retention

  @Test
  void thePurgeDeletesExactlyTheEventsReceivedBeforeTheRetentionInBoundedBatches() {
    Instant now = db.now();
    Duration days30 = Duration.ofDays(30);
    for (int i = 0; i < 5; i++) {
      insert("old." + i, now.minus(days30).minus(Duration.ofHours(i + 1)));
    }
    insert("recent.edge", now.minus(days30).plus(Duration.ofMinutes(5)));
    insert("recent.new", now.minus(Duration.ofMinutes(1)));

    // Batches of 2, at most 2 per round: the first round leaves one old event for the next.
    EventRetention retention = new EventRetention(30, 2, 2);
    assertThat(store.purge(retention)).isEqualTo(4);
    assertThat(storedTypes()).hasSize(3).contains("recent.edge", "recent.new");
    assertThat(store.purge(retention)).isEqualTo(1);
    assertThat(storedTypes()).containsExactlyInAnyOrder("recent.edge", "recent.new");
    assertThat(store.purge(retention)).isZero();

    assertThat(store.purge(EventRetention.ofDays(0))).isZero();
    insert("ancient", now.minus(Duration.ofDays(3650)));
    assertThat(store.purge(EventRetention.ofDays(0))).isZero();
    assertThat(storedTypes()).contains("ancient");
  }

  private void insert(String type, Instant receivedAt) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO events (source, type, severity, event_time, received_at)"
                            + " VALUES ('external:test', :type, 'info', :at, :at)")
                    .bind("type", type)
                    .bind("at", Timestamp.from(receivedAt))
                    .execute());
  }

  private Set<String> storedTypes() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT type FROM events").mapTo(String.class).stream()
                    .collect(Collectors.toSet()));
  }
}
