package io.vigil.server.events;

import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.cluster.Fence;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestApiServer;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Alarm definitions and the alarm lifecycle, run against each database Vigil supports: {@link
 * AlarmsApiH2Test}, {@link AlarmsApiPostgresIT}. Events come from external sources, which need no
 * registration.
 */
abstract class AlarmsApiContract {

  static final String OPERATOR = "operator-token";
  static final String VIEWER = "viewer-token";
  static final String COMPONENT = "component-token";

  Database db;
  HttpServer server;
  TestHttp http;

  abstract Database openDatabase();

  @BeforeEach
  void start() {
    db = openDatabase();
    Map<String, Principal> callers =
        Map.of(
            OPERATOR, user("oscar", Role.OPERATOR),
            VIEWER, user("victor", Role.VIEWER),
            COMPONENT, user("rec-client", Role.COMPONENT));
    Fence fence = Fence.unfenced(db.jdbi());
    server =
        TestApiServer.start(
            callers,
            new Settings().http.maxRequestBytes,
            List.of(
                new EventRoutes(new EventStore(fence)),
                new AlarmRoutes(new AlarmDefinitions(fence), new Alarms(fence))));
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  @AfterEach
  void stop() {
    server.close();
    db.close();
  }

  Response send(String method, String path, String token, String json, String ifMatch) {
    return http.send(
        method, path, token, json, ifMatch == null ? Map.of() : Map.of("If-Match", ifMatch));
  }

  String define(String json) {
    Response r = send("POST", "/api/v1/alarm-definitions", OPERATOR, json, null);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  void event(String type, String source) {
    Response r =
        send(
            "POST",
            "/api/v1/events",
            OPERATOR,
            "{\"type\":\"" + type + "\",\"source\":\"" + source + "\",\"severity\":\"warning\"}",
            null);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
  }

  JsonNode alarms(String query) {
    Response r = http.get("/api/v1/alarms" + query, VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("items");
  }

  JsonNode alarm(long id) {
    Response r = http.get("/api/v1/alarms/" + id, VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  static List<String> texts(JsonNode items, String field) {
    List<String> values = new ArrayList<>();
    items.forEach(n -> values.add(n.get(field).asText()));
    return values;
  }

  static final String DOOR =
      "{\"name\":\"Door forced\",\"eventTypes\":[\"door.forced\"],\"priority\":1,"
          + "\"category\":\"access\",\"initialOwner\":\"guard\",\"reactivationSeconds\":3600,"
          + "\"closeOnEventTypes\":[\"door.closed\"],\"instructions\":\"Call the guard.\"}";

  @Test
  void definitionsAreCreatedReadChangedWithIfMatchAndRemoved() {
    String id = define(DOOR);
    Response read = http.get("/api/v1/alarm-definitions/" + id, VIEWER);
    assertThat(read.header("ETag")).isEqualTo("\"1\"");
    assertThat(read.json().get("eventTypes").get(0).asText()).isEqualTo("door.forced");
    assertThat(read.json().get("sources")).isEmpty();
    assertThat(read.json().get("enabled").asBoolean()).isTrue();

    String path = "/api/v1/alarm-definitions/" + id;
    assertThat(send("PATCH", path, OPERATOR, "{\"priority\":2}", null).status()).isEqualTo(428);
    Response changed = send("PATCH", path, OPERATOR, "{\"priority\":2}", "\"1\"");
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    assertThat(changed.json().get("priority").asInt()).isEqualTo(2);
    assertThat(changed.json().get("category").asText()).isEqualTo("access");
    Response stale = send("PATCH", path, OPERATOR, "{\"priority\":3}", "\"1\"");
    assertThat(stale.status()).isEqualTo(409);
    assertThat(stale.json().get("code").asText()).isEqualTo("version_conflict");
    Response bad = send("PATCH", path, OPERATOR, "{\"priority\":11}", "\"2\"");
    assertThat(bad.json().get("code").asText()).isEqualTo("invalid_priority");
    assertThat(http.get("/api/v1/alarm-definitions", VIEWER).json().get("items")).hasSize(1);

    assertThat(send("DELETE", path, OPERATOR, null, "\"1\"").status()).isEqualTo(409);
    assertThat(send("DELETE", path, OPERATOR, null, "\"2\"").status()).isEqualTo(204);
    assertThat(http.get(path, VIEWER).status()).isEqualTo(404);
  }

  @Test
  void anEventRaisesAnAlarmAndRepeatsWithinTheThresholdAreCounted() {
    String def = define(DOOR);
    event("door.forced", "external:door-4");
    event("door.forced", "external:door-4");
    event("door.forced", "external:door-5");
    event("camera.motion", "external:door-4");
    JsonNode items = alarms("");
    assertThat(items).hasSize(2);
    JsonNode door4 = alarms("?source=external:door-4").get(0);
    assertThat(door4.get("state").asText()).isEqualTo("new");
    assertThat(door4.get("definitionId").asText()).isEqualTo(def);
    assertThat(door4.get("count").asInt()).isEqualTo(2);
    assertThat(door4.get("owner").asText()).isEqualTo("guard");
    assertThat(door4.get("category").asText()).isEqualTo("access");
    assertThat(door4.get("priority").asInt()).isEqualTo(1);
    assertThat(door4.get("raisedAt").asText()).isNotEmpty();
    assertThat(door4.get("lastEventAt").asText()).isNotEmpty();
  }

  @Test
  void concurrentMatchingEventsForOneSourceRaiseOneAlarmThatCountsThemAll() throws Exception {
    define(DOOR);
    int threads = 8;
    int perThread = 3;
    int perBatch = 20;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Integer>> posts = new ArrayList<>();
    try {
      for (int t = 0; t < threads; t++) {
        posts.add(
            pool.submit(
                () -> {
                  go.await();
                  int created = 0;
                  for (int i = 0; i < perThread; i++) {
                    // A batch keeps its transaction open while it stores its events, so
                    // concurrent batches overlap for long.
                    Response r = send("POST", "/api/v1/events", OPERATOR, batch(perBatch), null);
                    if (r.status() == 201) {
                      created += perBatch;
                    }
                  }
                  return created;
                }));
      }
      go.countDown();
      int created = 0;
      for (Future<Integer> f : posts) {
        created += f.get(60, TimeUnit.SECONDS);
      }
      assertThat(created).isEqualTo(threads * perThread * perBatch);
    } finally {
      pool.shutdownNow();
    }
    JsonNode items = alarms("?source=external:door-9");
    assertThat(items).hasSize(1);
    assertThat(items.get(0).get("count").asInt()).isEqualTo(threads * perThread * perBatch);
  }

  private static String batch(int size) {
    StringBuilder json = new StringBuilder("{\"events\":[");
    for (int i = 0; i < size; i++) {
      json.append(i == 0 ? "" : ",")
          .append("{\"type\":\"door.forced\",\"source\":\"external:door-9\",")
          .append("\"severity\":\"warning\"}");
    }
    return json.append("]}").toString();
  }

  static final String LIMITED =
      "{\"name\":\"Door held\",\"eventTypes\":[\"door.held\"],\"priority\":2,"
          + "\"actionRequiredWithinSeconds\":300}";

  /** Moves an alarm's times back by {@code seconds}, by the database's clock. */
  void age(long alarmId, long seconds) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "UPDATE alarms SET raised_at = "
                            + db.dialect().nowMinusSeconds(Long.toString(seconds))
                            + ", updated_at = "
                            + db.dialect().nowMinusSeconds(Long.toString(seconds))
                            + ", last_event_at = "
                            + db.dialect().nowMinusSeconds(Long.toString(seconds))
                            + ", action_due_at = CASE WHEN action_due_at IS NULL THEN NULL ELSE "
                            + db.dialect().nowMinusSeconds(seconds + " - 300")
                            + " END WHERE id = :id")
                    .bind("id", alarmId)
                    .execute());
  }

  JsonNode storedEvents(String type) {
    Response r = http.get("/api/v1/events?type=" + type, VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("items");
  }

  @Test
  void aNewAlarmPastItsActionLimitEscalatesOnceWithAnEventAndAnActivityEntry() {
    String def = define(LIMITED);
    Alarms alarms = new Alarms(Fence.unfenced(db.jdbi()));
    event("door.held", "external:door-1");
    event("door.held", "external:door-2");
    event("door.held", "external:door-3");
    long late = alarms("?source=external:door-1").get(0).get("id").asLong();
    long handled = alarms("?source=external:door-2").get(0).get("id").asLong();
    long young = alarms("?source=external:door-3").get(0).get("id").asLong();
    assertThat(alarm(young).get("actionDueAt").asText()).isNotEmpty();
    Response taken =
        send(
            "PATCH", "/api/v1/alarms/" + handled, OPERATOR, "{\"state\":\"in_progress\"}", "\"1\"");
    assertThat(taken.status()).as(taken.body()).isEqualTo(200);
    age(late, 301);
    age(handled, 301);
    age(young, 299);

    assertThat(alarms.escalate(EventStore.siteEvents())).isEqualTo(1);
    JsonNode escalated = storedEvents(Alarms.ESCALATED);
    assertThat(escalated).hasSize(1);
    JsonNode e = escalated.get(0);
    assertThat(e.get("source").asText()).isEqualTo("external:door-1");
    assertThat(e.get("data").get("alarmId").asLong()).isEqualTo(late);
    assertThat(e.get("data").get("definitionId").asText()).isEqualTo(def);
    assertThat(e.get("data").get("priority").asInt()).isEqualTo(2);
    assertThat(texts(alarm(late).get("activity"), "action")).containsExactly("raised", "escalated");
    assertThat(alarm(late).get("actionDueAt").isNull()).isTrue();
    assertThat(texts(alarm(handled).get("activity"), "action")).doesNotContain("escalated");
    assertThat(texts(alarm(young).get("activity"), "action")).doesNotContain("escalated");

    // Once only: the next tick finds nothing, even much later.
    age(late, 7200);
    assertThat(alarms.escalate(EventStore.siteEvents())).isZero();
    assertThat(storedEvents(Alarms.ESCALATED)).hasSize(1);
  }

  @Test
  void anEscalationCanRaiseAnAlarmOfItsOwn() {
    define(LIMITED);
    String escalations =
        define(
            "{\"name\":\"Escalated\",\"eventTypes\":[\"alarm.escalated\"],\"priority\":1,"
                + "\"initialOwner\":\"supervisor\"}");
    Alarms alarms = new Alarms(Fence.unfenced(db.jdbi()));
    event("door.held", "external:door-1");
    long late = alarms("?source=external:door-1").get(0).get("id").asLong();
    age(late, 301);

    assertThat(alarms.escalate(EventStore.siteEvents())).isEqualTo(1);
    JsonNode raised = alarms("?source=external:door-1&priority=1");
    assertThat(raised).hasSize(1);
    assertThat(raised.get(0).get("definitionId").asText()).isEqualTo(escalations);
    assertThat(raised.get(0).get("owner").asText()).isEqualTo("supervisor");
  }

  @Test
  void retentionDeletesClosedAndOtherAlarmsPastTheirDaysInBatchesAndNothingElse() {
    define(DOOR);
    Alarms alarms = new Alarms(Fence.unfenced(db.jdbi()));
    List<Long> oldClosed = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      oldClosed.add(raiseOn("external:old-closed-" + i));
      event("door.closed", "external:old-closed-" + i);
    }
    long recentClosed = raiseOn("external:recent-closed");
    event("door.closed", "external:recent-closed");
    long oldOpen = raiseOn("external:old-open");
    long oldOpen2 = raiseOn("external:old-open-2");
    long middleOpen = raiseOn("external:middle-open");
    long day = 86_400;
    for (long id : oldClosed) {
      age(id, 4 * day);
    }
    age(recentClosed, 2 * day);
    age(oldOpen, 31 * day);
    age(oldOpen2, 31 * day);
    age(middleOpen, 4 * day);

    // Five past their retention; batches of 2, at most 2 per round: the first round leaves one.
    AlarmRetention retention = new AlarmRetention(3, 30, 2, 2);
    assertThat(alarms.purge(retention)).isEqualTo(4);
    assertThat(alarms.purge(retention)).isEqualTo(1);
    assertThat(alarms.purge(retention)).isZero();
    List<Long> left = new ArrayList<>();
    alarms("?limit=500").forEach(a -> left.add(a.get("id").asLong()));
    assertThat(left).containsExactlyInAnyOrder(recentClosed, middleOpen);
    Integer activity =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT COUNT(*) FROM alarm_activity WHERE alarm_id NOT IN (:a, :b)")
                        .bind("a", recentClosed)
                        .bind("b", middleOpen)
                        .mapTo(Integer.class)
                        .one());
    assertThat(activity).isZero();

    assertThat(alarms.purge(AlarmRetention.ofDays(0, 0))).isZero();
    age(recentClosed, 3650 * day);
    assertThat(alarms.purge(AlarmRetention.ofDays(0, 30))).isZero();
    assertThat(alarms("").size()).isEqualTo(2);
  }

  private long raiseOn(String source) {
    event("door.forced", source);
    return alarms("?source=" + source).get(0).get("id").asLong();
  }

  @Test
  void eventsOutsideTheTimeProfileAreStoredButRaiseNoAlarm() {
    String today =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT CURRENT_TIMESTAMP")
                        .mapTo(java.sql.Timestamp.class)
                        .one()
                        .toInstant()
                        .atZone(java.time.ZoneOffset.UTC)
                        .getDayOfWeek()
                        .name()
                        .toLowerCase(java.util.Locale.ROOT));
    List<String> otherDays = new ArrayList<>();
    for (java.time.DayOfWeek d : java.time.DayOfWeek.values()) {
      String name = d.name().toLowerCase(java.util.Locale.ROOT);
      if (!name.equals(today)) {
        otherDays.add("\"" + name + "\"");
      }
    }
    String id =
        define(
            "{\"name\":\"Out of hours\",\"eventTypes\":[\"door.forced\"],\"priority\":1,"
                + "\"activeWhen\":{\"timeZone\":\"UTC\",\"intervals\":[{\"days\":"
                + otherDays
                + ",\"start\":\"00:00\",\"end\":\"24:00\"}]}}");
    Response read = http.get("/api/v1/alarm-definitions/" + id, VIEWER);
    assertThat(read.json().get("activeWhen").get("timeZone").asText()).isEqualTo("UTC");
    event("door.forced", "external:door-7");
    assertThat(storedEvents("door.forced")).hasSize(1);
    assertThat(alarms("")).isEmpty();

    // {} clears the profile: always active.
    Response cleared =
        send(
            "PATCH",
            "/api/v1/alarm-definitions/" + id,
            OPERATOR,
            "{\"activeWhen\":{}}",
            read.header("ETag"));
    assertThat(cleared.status()).as(cleared.body()).isEqualTo(200);
    assertThat(cleared.json().get("activeWhen").isNull()).isTrue();
    event("door.forced", "external:door-7");
    assertThat(alarms("")).hasSize(1);

    Response bad =
        send(
            "PATCH",
            "/api/v1/alarm-definitions/" + id,
            OPERATOR,
            "{\"activeWhen\":{\"timeZone\":\"Mars/Olympus\",\"intervals\":[]}}",
            cleared.header("ETag"));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("code").asText()).isEqualTo("invalid_time_profile");
  }

  @Test
  void aCloseOnEventClosesTheOpenAlarmOfThatSource() {
    define(DOOR);
    event("door.forced", "external:door-4");
    event("door.forced", "external:door-5");
    event("door.closed", "external:door-4");
    assertThat(texts(alarms("?source=external:door-4"), "state")).containsExactly("closed");
    assertThat(texts(alarms("?source=external:door-5"), "state")).containsExactly("new");
    long id = alarms("?source=external:door-4").get(0).get("id").asLong();
    assertThat(texts(alarm(id).get("activity"), "action")).containsExactly("raised", "closed");
    // A closed alarm counts nothing: the next event raises a new one.
    event("door.forced", "external:door-4");
    assertThat(texts(alarms("?source=external:door-4"), "state")).containsExactly("new", "closed");
  }

  @Test
  void theLifecycleAllowsLegalChangesAndRefusesIllegalOnesWithoutChangingAnything() {
    define(DOOR);
    event("door.forced", "external:door-4");
    long id = alarms("").get(0).get("id").asLong();
    String path = "/api/v1/alarms/" + id;
    Response r = send("PATCH", path, OPERATOR, "{\"state\":\"in_progress\"}", "\"1\"");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("ETag")).isEqualTo("\"2\"");
    r = send("PATCH", path, OPERATOR, "{\"state\":\"on_hold\",\"owner\":\"oscar\"}", "\"2\"");
    assertThat(r.json().get("state").asText()).isEqualTo("on_hold");
    assertThat(r.json().get("owner").asText()).isEqualTo("oscar");

    Response illegal = send("PATCH", path, OPERATOR, "{\"state\":\"in_progress\"}", "\"3\"");
    assertThat(illegal.status()).isEqualTo(409);
    assertThat(illegal.json().get("code").asText()).isEqualTo("illegal_transition");
    assertThat(illegal.json().get("message").asText()).contains("on_hold", "in_progress");
    JsonNode unchanged = alarm(id);
    assertThat(unchanged.get("state").asText()).isEqualTo("on_hold");
    assertThat(unchanged.get("revision").asLong()).isEqualTo(3);

    assertThat(send("PATCH", path, OPERATOR, "{\"state\":\"closed\"}", "\"3\"").status())
        .isEqualTo(200);
    assertThat(send("PATCH", path, OPERATOR, "{\"state\":\"new\"}", "\"4\"").status())
        .isEqualTo(200);
    Response bad = send("PATCH", path, OPERATOR, "{\"state\":\"done\"}", "\"5\"");
    assertThat(bad.json().get("code").asText()).isEqualTo("invalid_state");
    assertThat(send("PATCH", path, OPERATOR, "{\"state\":\"closed\"}", "\"4\"").status())
        .isEqualTo(409);
  }

  @Test
  void commentsAndEveryChangeAreInTheActivityLogWithWhoAndWhen() {
    define(DOOR);
    event("door.forced", "external:door-4");
    long id = alarms("").get(0).get("id").asLong();
    String path = "/api/v1/alarms/" + id;
    send("PATCH", path, OPERATOR, "{\"state\":\"in_progress\"}", "\"1\"");
    Response c = send("POST", path + "/comments", OPERATOR, "{\"text\":\"On my way\"}", null);
    assertThat(c.status()).as(c.body()).isEqualTo(201);
    JsonNode detail = alarm(id);
    assertThat(texts(detail.get("activity"), "action"))
        .containsExactly("raised", "state", "commented");
    assertThat(texts(detail.get("activity"), "actor")).containsExactly("vigil", "oscar", "oscar");
    assertThat(detail.get("activity").get(1).get("detail").asText())
        .isEqualTo("new -> in_progress");
    assertThat(detail.get("activity").get(2).get("at").asText()).isNotEmpty();
    assertThat(texts(detail.get("comments"), "text")).containsExactly("On my way");
    assertThat(detail.get("comments").get(0).get("author").asText()).isEqualTo("oscar");
    Response empty = send("POST", path + "/comments", OPERATOR, "{\"text\":\" \"}", null);
    assertThat(empty.json().get("code").asText()).isEqualTo("invalid_value");
  }

  @Test
  void theListFiltersAndSortsByPriorityThenNewestAndPages() {
    define(DOOR);
    define(
        "{\"name\":\"Motion\",\"eventTypes\":[\"camera.motion\"],\"priority\":3,"
            + "\"category\":\"video\"}");
    event("camera.motion", "external:cam-1");
    event("door.forced", "external:door-1");
    event("camera.motion", "external:cam-2");
    event("door.forced", "external:door-2");
    assertThat(texts(alarms(""), "source"))
        .containsExactly("external:door-2", "external:door-1", "external:cam-2", "external:cam-1");
    assertThat(texts(alarms("?priority=3"), "source"))
        .containsExactly("external:cam-2", "external:cam-1");
    assertThat(texts(alarms("?category=access"), "source"))
        .containsExactly("external:door-2", "external:door-1");
    assertThat(alarms("?owner=guard")).hasSize(2);
    assertThat(alarms("?state=closed")).isEmpty();
    assertThat(alarms("?since=2000-01-01T00:00:00Z")).hasSize(4);
    assertThat(alarms("?until=2000-01-01T00:00:00Z")).isEmpty();

    // Pages that end inside a priority, at its last alarm, and across into the next priority.
    for (int limit = 1; limit <= 3; limit++) {
      List<String> paged = new ArrayList<>();
      String cursor = null;
      do {
        JsonNode page =
            http.get(
                    "/api/v1/alarms?limit=" + limit + (cursor == null ? "" : "&cursor=" + cursor),
                    VIEWER)
                .json();
        paged.addAll(texts(page.get("items"), "source"));
        cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      } while (cursor != null);
      assertThat(paged).as("pages of %d", limit).isEqualTo(texts(alarms(""), "source"));
    }
    assertThat(http.get("/api/v1/alarms?cursor=abc", VIEWER).json().get("code").asText())
        .isEqualTo("invalid_cursor");
  }

  @Test
  void viewersReadOperatorsHandleAndComponentsNeither() {
    define(DOOR);
    event("door.forced", "external:door-4");
    long id = alarms("").get(0).get("id").asLong();
    assertThat(send("POST", "/api/v1/alarm-definitions", VIEWER, DOOR, null).status())
        .isEqualTo(403);
    assertThat(
            send("PATCH", "/api/v1/alarms/" + id, VIEWER, "{\"state\":\"closed\"}", "\"1\"")
                .status())
        .isEqualTo(403);
    assertThat(http.get("/api/v1/alarms", COMPONENT).status()).isEqualTo(403);
    assertThat(http.get("/api/v1/alarm-definitions", COMPONENT).status()).isEqualTo(403);
    assertThat(http.get("/api/v1/alarms/" + id, VIEWER).status()).isEqualTo(200);
    assertThat(http.get("/api/v1/alarms/x" + id, VIEWER).status()).isEqualTo(404);
  }
}
