package io.vigil.server.collector;

import static io.vigil.server.testing.TestApiServer.component;
import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.events.AlarmDefinitions;
import io.vigil.server.events.AlarmRoutes;
import io.vigil.server.events.Alarms;
import io.vigil.server.events.EventRoutes;
import io.vigil.server.events.EventStore;
import io.vigil.server.http.HttpServer;
import io.vigil.server.management.Devices;
import io.vigil.server.management.ManagementRoutes;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.management.SiteSettings;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.MutableClock;
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
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The system monitor through the API, run against each database Vigil supports: {@link
 * MonitorApiH2Test}, {@link MonitorApiPostgresIT}. Heartbeats go through the real route; the
 * calculation tick is called directly, on a clock the test drives.
 */
abstract class MonitorApiContract {

  static final String OPERATOR = "operator-token";
  static final String VIEWER = "viewer-token";
  static final String COMPONENT = "component-token";

  Database db;
  HttpServer server;
  TestHttp http;
  MutableClock clock;
  SystemMonitor monitor;
  SimpleMeterRegistry metrics;
  SiteFigures figures;

  abstract Database openDatabase();

  @BeforeEach
  void start() {
    db = openDatabase();
    Map<String, Principal> callers =
        Map.of(
            OPERATOR, user("oscar", Role.OPERATOR),
            VIEWER, user("victor", Role.VIEWER),
            COMPONENT, component("rec-client"));
    Fence fence = Fence.unfenced(db.jdbi());
    clock = new MutableClock(Instant.parse("2026-03-01T12:00:00Z"));
    monitor = new SystemMonitor(fence, EventStore.siteEvents(), clock, 90);
    metrics = new SimpleMeterRegistry();
    figures = new SiteFigures(fence, clock, metrics);
    server =
        TestApiServer.start(
            callers,
            4 * 1024 * 1024,
            List.of(
                new ManagementRoutes(
                    new ServerRegistry(
                        fence, db.dialect(), EventStore.siteEvents(), monitor::record),
                    new Devices(fence, new TestProtector()),
                    new SiteSettings(fence),
                    new AuditLog(db.jdbi())),
                new EventRoutes(new EventStore(fence, figures::stored)),
                new AlarmRoutes(new AlarmDefinitions(fence), new Alarms(fence)),
                new MonitorRoutes(monitor)));
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

  String register(String name, String type) {
    Response r =
        send(
            "POST",
            "/api/v1/servers",
            OPERATOR,
            "{\"name\":\""
                + name
                + "\",\"type\":\""
                + type
                + "\",\"address\":\"http://"
                + name
                + ".local:7563\"}",
            null);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("id").asText();
  }

  void beat(String id, String load) {
    Response r = send("POST", "/api/v1/servers/" + id + "/heartbeat", OPERATOR, load, null);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
  }

  /** Heartbeats every 5 s for {@code seconds}, each server with its own figures. */
  void beatFor(int seconds, Map<String, String> loads) {
    for (int i = 0; i < seconds; i += 5) {
      clock.advance(Duration.ofSeconds(5));
      loads.forEach(this::beat);
    }
  }

  static String cpu(double percent) {
    return "{\"cpuPercent\":" + percent + "}";
  }

  JsonNode overview() {
    Response r = http.get("/api/v1/monitor", VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("items");
  }

  static JsonNode figure(JsonNode server, String figure) {
    for (JsonNode f : server.get("figures")) {
      if (f.get("figure").asText().equals(figure)) {
        return f;
      }
    }
    throw new AssertionError("no figure " + figure + " in " + server);
  }

  List<String> eventTypes(String source) {
    Response r = http.get("/api/v1/events?source=" + source, VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    List<String> types = new ArrayList<>();
    r.json().get("items").forEach(e -> types.add(e.get("type").asText()));
    return types;
  }

  @Test
  void sustainedLoadShowsInTheMonitorWorstFirstAfterTheTick() {
    String busy = register("rec-busy", "recording-server");
    String calm = register("rec-calm", "recording-server");
    String silent = register("rec-silent", "recording-server");
    assertThat(overview()).hasSize(3);
    assertThat(figure(overview().get(0), "cpu").get("state").asText()).isEqualTo("unknown");

    beatFor(60, Map.of(busy, cpu(90), calm, cpu(20)));
    assertThat(monitor.tick()).isEqualTo(1);

    JsonNode items = overview();
    assertThat(items.get(0).get("serverId").asText()).isEqualTo(busy);
    assertThat(items.get(0).get("state").asText()).isEqualTo("warning");
    JsonNode cpu = figure(items.get(0), "cpu");
    assertThat(cpu.get("state").asText()).isEqualTo("warning");
    assertThat(cpu.get("value").asDouble()).isEqualTo(90.0);
    assertThat(cpu.get("warning").asDouble()).isEqualTo(80.0);
    assertThat(figure(items.get(0), "memory").get("state").asText()).isEqualTo("unknown");
    assertThat(items.get(1).get("serverId").asText()).isEqualTo(silent);
    assertThat(items.get(1).get("state").asText()).isEqualTo("unknown");
    assertThat(items.get(2).get("serverId").asText()).isEqualTo(calm);
    assertThat(items.get(2).get("state").asText()).isEqualTo("normal");
    assertThat(eventTypes(busy)).containsExactly("monitor.cpu.warning");
    assertThat(eventTypes(calm)).as("unknown to normal is no news").isEmpty();

    // The same load again: the state holds and no event repeats.
    beatFor(30, Map.of(busy, cpu(90), calm, cpu(20)));
    assertThat(monitor.tick()).isZero();
    assertThat(eventTypes(busy)).containsExactly("monitor.cpu.warning");

    // Paging keeps the order.
    Response first = http.get("/api/v1/monitor?limit=2", VIEWER);
    assertThat(first.json().get("items")).hasSize(2);
    String cursor = first.json().get("nextCursor").asText();
    Response rest = http.get("/api/v1/monitor?limit=2&cursor=" + cursor, VIEWER);
    assertThat(rest.json().get("items").get(0).get("serverId").asText()).isEqualTo(calm);
    assertThat(rest.json().get("nextCursor").isNull()).isTrue();
  }

  @Test
  void aNewOwnerAfterFailoverStartsEmptyAndRaisesNoEventTwice() {
    String busy = register("rec-busy", "recording-server");
    beatFor(60, Map.of(busy, cpu(99)));
    assertThat(monitor.tick()).isEqualTo(1);

    // Another node takes the role: its monitor has no samples but the same database.
    SystemMonitor successor =
        new SystemMonitor(Fence.unfenced(db.jdbi()), EventStore.siteEvents(), clock, 90);
    successor.record(
        UUID.fromString(busy), new io.vigil.client.Load(99.0, null, null, null, null, null, null));
    assertThat(successor.tick()).as("one sample decides nothing").isZero();
    for (int i = 0; i < 12; i++) {
      clock.advance(Duration.ofSeconds(5));
      successor.record(
          UUID.fromString(busy),
          new io.vigil.client.Load(99.0, null, null, null, null, null, null));
    }
    assertThat(successor.tick()).as("still critical: no new event").isZero();
    assertThat(eventTypes(busy)).containsExactly("monitor.cpu.critical");
    assertThat(figure(overview().get(0), "cpu").get("state").asText()).isEqualTo("critical");
  }

  @Test
  void aSpikeRaisesNothingAndTheStateReturnsToNormalPastTheMargin() {
    String rec = register("rec-1", "recording-server");
    beatFor(30, Map.of(rec, cpu(30)));
    beatFor(5, Map.of(rec, cpu(100)));
    beatFor(25, Map.of(rec, cpu(30)));
    monitor.tick();
    assertThat(figure(overview().get(0), "cpu").get("state").asText()).isEqualTo("normal");

    beatFor(60, Map.of(rec, cpu(99)));
    monitor.tick();
    assertThat(figure(overview().get(0), "cpu").get("state").asText()).isEqualTo("critical");
    beatFor(60, Map.of(rec, cpu(92)));
    monitor.tick();
    assertThat(figure(overview().get(0), "cpu").get("state").asText())
        .as("within 5 points of critical")
        .isEqualTo("critical");
    beatFor(60, Map.of(rec, cpu(10)));
    monitor.tick();
    assertThat(figure(overview().get(0), "cpu").get("state").asText()).isEqualTo("normal");
    assertThat(eventTypes(rec)).containsExactly("monitor.cpu.normal", "monitor.cpu.critical");
  }

  @Test
  void aThresholdChangeRaisesAnEventThatAnAlarmDefinitionTurnsIntoAnAlarm() {
    String rec = register("rec-1", "recording-server");
    Response def =
        send(
            "POST",
            "/api/v1/alarm-definitions",
            OPERATOR,
            "{\"name\":\"Disk nearly full\",\"eventTypes\":[\"monitor.disk_free.critical\"],"
                + "\"priority\":1}",
            null);
    assertThat(def.status()).as(def.body()).isEqualTo(201);
    beatFor(
        60,
        Map.of(
            rec,
            "{\"disks\":[{\"volume\":\"C:\",\"freeBytes\":40,\"totalBytes\":100},"
                + "{\"volume\":\"D:\",\"freeBytes\":3,\"totalBytes\":100}]}"));
    monitor.tick();

    Response events = http.get("/api/v1/events?type=monitor.disk_free.critical", VIEWER);
    JsonNode event = events.json().get("items").get(0);
    assertThat(event.get("source").asText()).isEqualTo(rec);
    assertThat(event.get("severity").asText()).isEqualTo("critical");
    assertThat(event.get("data").get("from").asText()).isEqualTo("unknown");
    assertThat(event.get("data").get("to").asText()).isEqualTo("critical");
    assertThat(event.get("data").get("value").asDouble()).isEqualTo(3.0);
    assertThat(event.get("message").asText()).contains("rec-1").contains("diskFree");

    JsonNode alarms = http.get("/api/v1/alarms", VIEWER).json().get("items");
    assertThat(alarms).hasSize(1);
    assertThat(alarms.get(0).get("source").asText()).isEqualTo(rec);
    assertThat(alarms.get(0).get("definitionId").asText()).isEqualTo(def.json().get("id").asText());
  }

  @Test
  void anOverrideForOneServerAppliesToItAloneWithIfMatchAndAudit() {
    String strict = register("rec-strict", "recording-server");
    String plain = register("rec-plain", "recording-server");
    String path = "/api/v1/monitor/thresholds/servers/" + strict;
    String body = "{\"thresholds\":{\"cpu\":{\"warning\":10,\"critical\":15}}}";
    Response put = send("PUT", path, OPERATOR, body, null);
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    assertThat(put.header("ETag")).isEqualTo("\"1\"");
    assertThat(put.json().get("effective").get("cpu").get("critical").asDouble()).isEqualTo(15.0);
    assertThat(put.json().get("effective").get("cpu").get("intervalSeconds").asInt()).isEqualTo(60);
    assertThat(send("PUT", path, OPERATOR, body, null).status()).isEqualTo(428);
    assertThat(send("PUT", path, OPERATOR, body, "\"7\"").json().get("code").asText())
        .isEqualTo("version_conflict");

    beatFor(60, Map.of(strict, cpu(30), plain, cpu(30)));
    monitor.tick();
    JsonNode items = overview();
    assertThat(items.get(0).get("serverId").asText()).isEqualTo(strict);
    assertThat(items.get(0).get("state").asText()).isEqualTo("critical");
    assertThat(items.get(1).get("state").asText()).isEqualTo("normal");

    Response audit = http.get("/api/v1/monitor/thresholds/servers/" + plain, VIEWER);
    assertThat(audit.json().get("revision").asLong()).isZero();
    assertThat(audit.json().get("overrides")).isEmpty();
    assertThat(audit.json().get("effective").get("cpu").get("warning").asDouble()).isEqualTo(80.0);

    assertThat(send("DELETE", path, OPERATOR, null, "\"1\"").status()).isEqualTo(204);
    assertThat(send("DELETE", path, OPERATOR, null, "\"1\"").status()).isEqualTo(404);
    long audited =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'monitor.thresholds.%'")
                        .mapTo(Long.class)
                        .one());
    assertThat(audited).isEqualTo(2);
  }

  @Test
  void badThresholdsAreRefusedWithStableCodes() {
    String rec = register("rec-1", "recording-server");
    String path = "/api/v1/monitor/thresholds/servers/" + rec;
    Response figure = send("PUT", path, OPERATOR, "{\"thresholds\":{\"gpu\":{}}}", null);
    assertThat(figure.status()).isEqualTo(400);
    assertThat(figure.json().get("code").asText()).isEqualTo("invalid_figure");
    Response order =
        send("PUT", path, OPERATOR, "{\"thresholds\":{\"diskFree\":{\"critical\":30}}}", null);
    assertThat(order.status()).isEqualTo(400);
    assertThat(order.json().get("code").asText()).isEqualTo("invalid_threshold");
    assertThat(order.json().get("message").asText()).contains("at or below");
    Response interval =
        send("PUT", path, OPERATOR, "{\"thresholds\":{\"cpu\":{\"intervalSeconds\":1}}}", null);
    assertThat(interval.json().get("code").asText()).isEqualTo("invalid_threshold");
    Response type =
        send("PUT", "/api/v1/monitor/thresholds", OPERATOR, "{\"types\":{\"toaster\":{}}}", null);
    assertThat(type.json().get("code").asText()).isEqualTo("invalid_type");
    Response missing = send("PUT", path, OPERATOR, "{}", null);
    assertThat(missing.json().get("code").asText()).isEqualTo("missing_field");
    assertThat(
            send(
                    "PUT",
                    "/api/v1/monitor/thresholds/servers/" + UUID.randomUUID(),
                    OPERATOR,
                    "{\"thresholds\":{}}",
                    null)
                .status())
        .isEqualTo(404);
  }

  @Test
  void typeDefaultsAreReadAndReplacedPerType() {
    Response read = http.get("/api/v1/monitor/thresholds", VIEWER);
    assertThat(read.status()).isEqualTo(200);
    assertThat(read.json().get("revision").asLong()).isZero();
    JsonNode rec = read.json().get("types").get("recording-server");
    assertThat(rec.get("cpu").get("warning").asDouble()).isEqualTo(80.0);
    assertThat(rec.get("diskFree").get("warning").asDouble()).isEqualTo(15.0);
    assertThat(rec.get("diskFree").get("critical").asDouble()).isEqualTo(5.0);
    assertThat(
            read.json().get("types").get("mobile-server").get("cpu").get("intervalSeconds").asInt())
        .isEqualTo(120);

    String body = "{\"types\":{\"recording-server\":{\"cpu\":{\"warning\":50}}}}";
    Response put = send("PUT", "/api/v1/monitor/thresholds", OPERATOR, body, null);
    assertThat(put.status()).as(put.body()).isEqualTo(200);
    JsonNode cpu = put.json().get("types").get("recording-server").get("cpu");
    assertThat(cpu.get("warning").asDouble()).isEqualTo(50.0);
    assertThat(cpu.get("critical").asDouble()).isEqualTo(95.0);
    assertThat(put.json().get("types").get("log-server").get("cpu").get("warning").asDouble())
        .isEqualTo(80.0);
    assertThat(send("PUT", "/api/v1/monitor/thresholds", OPERATOR, body, null).status())
        .isEqualTo(428);
    assertThat(send("PUT", "/api/v1/monitor/thresholds", OPERATOR, body, "\"1\"").status())
        .isEqualTo(200);

    String id = register("rec-1", "recording-server");
    beatFor(60, Map.of(id, cpu(60)));
    monitor.tick();
    assertThat(overview().get(0).get("state").asText()).isEqualTo("warning");
  }

  @Test
  void historyReturnsRawPointsForTheLastDayAndRolledUpOnesBeyond() {
    String rec = register("rec-1", "recording-server");
    beatFor(60, Map.of(rec, cpu(40)));
    monitor.tick();
    beatFor(30, Map.of(rec, cpu(60)));
    monitor.tick();
    Response r = http.get("/api/v1/monitor/" + rec + "/history?figure=cpu", VIEWER);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().get("resolution").asText()).isEqualTo("raw");
    JsonNode points = r.json().get("points");
    assertThat(points).hasSize(2);
    assertThat(points.get(0).get("value").asDouble()).isEqualTo(40.0);
    assertThat(points.get(0).get("samples").asInt()).isEqualTo(12);
    assertThat(points.get(1).get("value").asDouble()).isEqualTo(60.0);

    // Rows of three days ago, six per minute over two minutes: the rollup makes minute rows.
    UUID server = UUID.fromString(rec);
    Instant old =
        Instant.now().minus(Duration.ofDays(3)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
    db.jdbi()
        .useHandle(
            h -> {
              for (int i = 0; i < 12; i++) {
                h.createUpdate(
                        "INSERT INTO monitor_history (server_id, figure, resolution, taken_at,"
                            + " average, samples) VALUES (:s, 'cpu', 'raw', :at, :v, 2)")
                    .bind("s", server)
                    .bind("at", Timestamp.from(old.plusSeconds(10L * i)))
                    .bind("v", i < 6 ? 10.0 : 20.0)
                    .execute();
              }
            });
    assertThat(monitor.rollupNow(5, 100)).isEqualTo(12);
    List<String> resolutions =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT resolution FROM monitor_history WHERE taken_at < :t ORDER BY"
                                + " taken_at")
                        .bind("t", Timestamp.from(old.plus(Duration.ofDays(1))))
                        .mapTo(String.class)
                        .list());
    assertThat(resolutions).containsExactly("minute", "minute");
    assertThat(monitor.rollupNow(5, 100)).as("nothing left to roll up").isZero();

    // Hour rows past the history retention (90 days here) are deleted; younger ones stay.
    db.jdbi()
        .useHandle(
            h -> {
              for (int days : new int[] {100, 80}) {
                h.createUpdate(
                        "INSERT INTO monitor_history (server_id, figure, resolution, taken_at,"
                            + " average, samples) VALUES (:s, 'memory', 'hour', :at, 50, 720)")
                    .bind("s", server)
                    .bind("at", Timestamp.from(Instant.now().minus(Duration.ofDays(days))))
                    .execute();
              }
            });
    assertThat(monitor.rollupNow(5, 100)).isEqualTo(1);
    int memoryRows =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT COUNT(*) FROM monitor_history WHERE figure = 'memory'")
                        .mapTo(Integer.class)
                        .one());
    assertThat(memoryRows).isEqualTo(1);

    Response older =
        http.get(
            "/api/v1/monitor/"
                + rec
                + "/history?figure=cpu&since="
                + old.minusSeconds(60)
                + "&until="
                + old.plusSeconds(600),
            VIEWER);
    assertThat(older.status()).as(older.body()).isEqualTo(200);
    assertThat(older.json().get("resolution").asText()).isEqualTo("minute");
    JsonNode minutes = older.json().get("points");
    assertThat(minutes).hasSize(2);
    assertThat(minutes.get(0).get("value").asDouble()).isEqualTo(10.0);
    assertThat(minutes.get(0).get("samples").asInt()).isEqualTo(12);
    assertThat(minutes.get(1).get("value").asDouble()).isEqualTo(20.0);

    assertThat(http.get("/api/v1/monitor/" + rec + "/history", VIEWER).json().get("code").asText())
        .isEqualTo("missing_parameter");
    assertThat(
            http.get("/api/v1/monitor/" + rec + "/history?figure=gpu", VIEWER)
                .json()
                .get("code")
                .asText())
        .isEqualTo("invalid_figure");
    assertThat(
            http.get("/api/v1/monitor/" + UUID.randomUUID() + "/history?figure=cpu", VIEWER)
                .status())
        .isEqualTo(404);
  }

  @Test
  void readingNeedsMonitorReadAndChangingThresholdsMonitorWrite() {
    assertThat(http.get("/api/v1/monitor", COMPONENT).status()).isEqualTo(403);
    assertThat(send("PUT", "/api/v1/monitor/thresholds", VIEWER, "{\"types\":{}}", null).status())
        .isEqualTo(403);
    assertThat(http.get("/api/v1/monitor/thresholds", VIEWER).status()).isEqualTo(200);
  }

  double gauge(String name, String... tags) {
    var gauge = metrics.find(name).tags(tags).gauge();
    return gauge == null ? 0 : gauge.value();
  }

  @Test
  void siteFiguresOnMetricsComeFromASnapshotRefreshedAtMostEveryFewSeconds() {
    String busy = register("rec-busy", "recording-server");
    String calm = register("rec-calm", "recording-server");
    send(
        "POST",
        "/api/v1/alarm-definitions",
        OPERATOR,
        "{\"name\":\"CPU\",\"eventTypes\":[\"monitor.cpu.critical\"],\"priority\":2}",
        null);
    beatFor(60, Map.of(busy, cpu(99), calm, cpu(20)));
    monitor.tick();
    String event =
        "{\"type\":\"door.forced\",\"source\":\"external:door\",\"severity\":\"info\","
            + "\"idempotencyKey\":\"k1\"}";
    assertThat(send("POST", "/api/v1/events", OPERATOR, event, null).status()).isEqualTo(201);
    assertThat(send("POST", "/api/v1/events", OPERATOR, event, null).status()).isIn(200, 201);
    assertThat(metrics.find("vigil.site.events.stored").counter().count())
        .as("a retried post counts once")
        .isEqualTo(1.0);

    figures.refresh();
    assertThat(gauge("vigil.site.servers", "connection", "online", "state", "critical"))
        .isEqualTo(1.0);
    assertThat(gauge("vigil.site.servers", "connection", "online", "state", "normal"))
        .isEqualTo(1.0);
    assertThat(gauge("vigil.site.alarms", "state", "new", "priority", "2")).isEqualTo(1.0);

    register("rec-new", "recording-server");
    figures.refresh();
    assertThat(gauge("vigil.site.servers", "connection", "unknown", "state", "unknown"))
        .as("the snapshot is not read again within a few seconds")
        .isZero();
    clock.advance(Duration.ofSeconds(5));
    figures.refresh();
    assertThat(gauge("vigil.site.servers", "connection", "unknown", "state", "unknown"))
        .isEqualTo(1.0);

    figures.clear();
    assertThat(metrics.find("vigil.site.servers").gauges()).isEmpty();
    assertThat(metrics.find("vigil.site.alarms").gauges()).isEmpty();
  }
}
