package io.vigil.server.events;

import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.Fence;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestApiServer;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import io.vigil.server.testing.TestSse;
import io.vigil.server.testing.TestSse.Message;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The live stream of events and alarm changes over HTTP, run against each database Vigil supports:
 * {@link EventStreamApiH2Test}, {@link EventStreamApiPostgresIT}. A test never waits for something
 * not to arrive: after what it expects it posts a last event and checks that this one comes next.
 */
abstract class EventStreamApiContract {

  static final String OPERATOR = "operator-token";
  static final String VIEWER = "viewer-token";

  Database db;
  HttpServer server;
  EventStream stream;
  TestHttp http;
  final List<TestSse> open = new ArrayList<>();

  abstract Database openDatabase();

  @BeforeEach
  void start() {
    db = openDatabase();
    Map<String, Principal> callers =
        Map.of(
            OPERATOR, user("oscar", Role.OPERATOR),
            VIEWER, user("victor", Role.VIEWER));
    Fence fence = Fence.unfenced(db.jdbi());
    stream = new EventStream(fence, Duration.ofSeconds(1));
    stream.start();
    server =
        TestApiServer.start(
            callers,
            new Settings().http.maxRequestBytes,
            List.of(
                new EventRoutes(new EventStore(fence), stream),
                new AlarmRoutes(new AlarmDefinitions(fence), new Alarms(fence))));
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  @AfterEach
  void stop() {
    open.forEach(TestSse::close);
    stream.stop();
    server.close();
    db.close();
  }

  // ---- the tests

  @Test
  void aClientThatReconnectsWithItsLastIdGetsWhatFollowedNothingMissedNothingTwice()
      throws Exception {
    TestSse first = connect("", null);
    post("door.forced", "external:door-1", "a");
    post("door.forced", "external:door-1", "b");
    Message a = first.next();
    Message b = first.next();
    assertThat(List.of(key(a), key(b))).containsExactly("a", "b");
    first.close();

    // While the client is away: one event, then a batch.
    post("door.forced", "external:door-1", "c");
    batch("d", "e", "f");

    TestSse again = connect("", b.id());
    post("door.forced", "external:door-1", "last");
    List<String> keys = new ArrayList<>();
    for (Message m = again.next(); ; m = again.next()) {
      keys.add(key(m));
      if (key(m).equals("last")) {
        break;
      }
    }
    assertThat(keys).containsExactly("c", "d", "e", "f", "last");
  }

  @Test
  void theLastIdMayComeInTheQueryForAClientThatCannotSetTheHeader() throws Exception {
    TestSse first = connect("", null);
    post("door.forced", "external:door-1", "a");
    Message a = first.next();
    first.close();
    post("door.forced", "external:door-1", "b");

    TestSse again = connect("?lastEventId=" + a.id(), null);

    assertThat(key(again.next())).isEqualTo("b");
  }

  @Test
  void withoutALastIdTheStreamStartsWithWhatIsNew() throws Exception {
    post("door.forced", "external:door-1", "before");
    TestSse sse = connect("", null);
    post("door.forced", "external:door-1", "after");

    assertThat(key(sse.next())).isEqualTo("after");
  }

  @Test
  void anAlarmRaisedByAnEventFollowsItWithTheAlarmAndItsChange() throws Exception {
    define("{\"name\":\"Door forced\",\"eventTypes\":[\"door.forced\"],\"priority\":1}");
    TestSse sse = connect("", null);
    post("door.forced", "external:door-1", "a");

    Message event = sse.next();
    Message alarm = sse.next();

    assertThat(event.name()).isEqualTo("event");
    assertThat(alarm.name()).isEqualTo("alarm");
    assertThat(alarm.data().get("action").asText()).isEqualTo("raised");
    assertThat(alarm.data().get("alarm").get("state").asText()).isEqualTo("new");
    assertThat(alarm.data().get("alarm").get("source").asText()).isEqualTo("external:door-1");
    long alarmId = alarm.data().get("alarm").get("id").asLong();

    Response r =
        http.send(
            "PATCH",
            "/api/v1/alarms/" + alarmId,
            OPERATOR,
            "{\"state\":\"in_progress\"}",
            Map.of("If-Match", "\"1\""));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    Message changed = sse.next();
    assertThat(changed.name()).isEqualTo("alarm");
    assertThat(changed.data().get("action").asText()).isEqualTo("state");
    assertThat(changed.data().get("actor").asText()).isEqualTo("oscar");
    assertThat(changed.data().get("alarm").get("state").asText()).isEqualTo("in_progress");
  }

  @Test
  void aFilterSendsOnlyTheKindsTypesAndSourceAskedFor() throws Exception {
    define("{\"name\":\"Door forced\",\"eventTypes\":[\"door.forced\"],\"priority\":1}");
    TestSse sse =
        connect("?kinds=events&type=door.forced,door.closed&source=external:door-1", null);
    post("door.forced", "external:door-2", "other source");
    post("camera.motion", "external:door-1", "other type");
    post("door.closed", "external:door-1", "last");

    // Neither of the first two, nor the alarm the first one raised.
    assertThat(key(sse.next())).isEqualTo("last");
  }

  @Test
  void badRequestsAreRefusedWithACode() {
    assertRefused(stream("?kinds=cameras", VIEWER, "text/event-stream", null), 400, "invalid_kind");
    assertRefused(stream("", VIEWER, "text/event-stream", "12"), 400, "invalid_last_event_id");
    assertRefused(stream("", VIEWER, "application/json", null), 406, "not_acceptable");
  }

  @Test
  void aStoppedEventServerAnswersThatItIsNotRunningAndClosesItsStreams() throws Exception {
    TestSse sse = connect("", null);
    stream.stop();

    assertThat(sse.ended()).isTrue();
    assertRefused(stream("", VIEWER, "text/event-stream", null), 503, "event_server_stopped");
  }

  // ---- helpers

  void assertRefused(Response r, int status, String code) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.json().get("code").asText()).isEqualTo(code);
  }

  Response stream(String query, String token, String accept, String lastId) {
    Map<String, String> headers =
        lastId == null
            ? Map.of("Accept", accept)
            : Map.of("Accept", accept, "Last-Event-ID", lastId);
    return http.send("GET", "/api/v1/events/stream" + query, token, null, headers);
  }

  void post(String type, String source, String key) {
    Response r =
        http.send(
            "POST",
            "/api/v1/events",
            OPERATOR,
            "{\"type\":\""
                + type
                + "\",\"source\":\""
                + source
                + "\",\"severity\":\"warning\",\"idempotencyKey\":\""
                + key
                + "\"}",
            Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(201);
  }

  void batch(String... keys) {
    StringBuilder body = new StringBuilder("{\"events\":[");
    for (int i = 0; i < keys.length; i++) {
      body.append(i == 0 ? "" : ",")
          .append("{\"type\":\"door.forced\",\"source\":\"external:door-1\",")
          .append("\"severity\":\"warning\",\"idempotencyKey\":\"")
          .append(keys[i])
          .append("\"}");
    }
    Response r = http.send("POST", "/api/v1/events", OPERATOR, body + "]}", Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(201);
  }

  void define(String json) {
    Response r = http.send("POST", "/api/v1/alarm-definitions", OPERATOR, json, Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(201);
  }

  static String key(Message m) {
    return m.data().get("idempotencyKey").asText();
  }

  /**
   * Opens a stream as the viewer. Once the response has begun the stream has its starting point, so
   * what is posted next is sent.
   */
  TestSse connect(String query, String lastId) throws Exception {
    TestSse sse =
        TestSse.open(
            "http://127.0.0.1:" + server.port() + "/api/v1/events/stream" + query, VIEWER, lastId);
    open.add(sse);
    return sse;
  }
}
