package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code vigil event …} and {@code vigil alarm …} against a fake node. */
class AlarmCommandsTest {

  static final String ALARM =
      """
      {"id":12,"state":"new","priority":1,"definitionId":"5e0c","source":"external:door-4",
       "count":3,"owner":"guard","category":"access","raisedAt":"2026-12-06T21:00:00.123Z",
       "lastEventAt":"2026-12-06T21:05:00Z","updatedAt":"2026-12-06T21:05:00Z",
       "firstEventId":1,"lastEventId":9,"revision":4,"actionDueAt":null""";

  static final String DETAIL =
      ALARM
          + """
          ,"activity":[{"at":"2026-12-06T21:00:00Z","actor":"vigil","action":"raised",
          "detail":"by event 1 (definition Door forced)"}],"comments":[]}""";

  FakeNode node;

  @BeforeEach
  void start() throws Exception {
    node = new FakeNode().signIn();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  Run vigil(String... args) {
    return new Run().env("VIGIL_SERVER", node.url()).env("VIGIL_PASSWORD", "s3cret").exec(args);
  }

  static JsonNode parse(String json) throws Exception {
    return Json.MAPPER.readTree(json);
  }

  @Test
  void eventListFiltersByTypeAndSourceAndPrintsATable() {
    node.on(
        "GET /api/v1/events?type=door.forced&source=external%3Adoor-4&limit=50",
        200,
        """
        {"items":[{"id":9,"type":"door.forced","source":"external:door-4","severity":"warning",
         "time":"2026-12-06T21:05:00Z","receivedAt":"2026-12-06T21:05:00.5Z",
         "message":"Forced open","data":null,"idempotencyKey":null}],"nextCursor":null}""");

    Run run = vigil("event", "list", "--type", "door.forced", "--source", "external:door-4");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("ID", "TYPE", "SEVERITY", "SOURCE")
        .contains("door.forced")
        .contains("external:door-4")
        .contains("2026-12-06T21:05:00Z")
        .contains("Forced open");
  }

  @Test
  void eventPostSendsTheEventAndPrintsItsId() throws Exception {
    node.on("POST /api/v1/events", 201, "{\"ids\":[42],\"duplicates\":0}");

    Run run =
        vigil(
            "event",
            "post",
            "--type",
            "door.forced",
            "--source",
            "external:door-4",
            "--severity",
            "warning",
            "--message",
            "Forced open");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).isEqualTo("Posted event 42.\n");
    JsonNode body = parse(node.apiRequests().get(0).body());
    assertThat(body.path("type").asText()).isEqualTo("door.forced");
    assertThat(body.path("source").asText()).isEqualTo("external:door-4");
    assertThat(body.path("severity").asText()).isEqualTo("warning");
    assertThat(body.path("message").asText()).isEqualTo("Forced open");
  }

  @Test
  void aRefusedEventExitsOneWithTheServersMessage() {
    node.on(
        "POST /api/v1/events",
        400,
        "{\"code\":\"invalid_event_type\",\"message\":\"Field \\\"type\\\" is not a dotted"
            + " name.\"}");

    Run run = vigil("event", "post", "--type", "Door", "--source", "external:d");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("(invalid_event_type)");
  }

  @Test
  void alarmListFiltersByStateAndPrintsATable() {
    node.on(
        "GET /api/v1/alarms?state=new&limit=100",
        200,
        "{\"items\":[" + ALARM + "}],\"nextCursor\":null}");

    Run run = vigil("alarm", "list", "--state", "new");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("PRIORITY", "STATE", "OWNER")
        .contains("12")
        .contains("external:door-4")
        .contains("guard")
        .contains("2026-12-06T21:00:00Z");
  }

  @Test
  void alarmShowPrintsTheAlarmAndItsActivity() {
    node.on("GET /api/v1/alarms/12", 200, DETAIL);

    Run run = vigil("alarm", "show", "12");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).contains("external:door-4").contains("raised").contains("vigil");
  }

  @Test
  void alarmSetSendsTheChangeWithTheRevisionItRead() throws Exception {
    node.on("GET /api/v1/alarms/12", 200, DETAIL);
    node.on(
        "PATCH /api/v1/alarms/12",
        200,
        DETAIL
            .replace("\"state\":\"new\"", "\"state\":\"in_progress\"")
            .replace("\"guard\"", "\"oscar\""));

    Run run = vigil("alarm", "set", "12", "--state", "in_progress", "--owner", "oscar");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).isEqualTo("Alarm 12 is in_progress, owned by oscar.\n");
    FakeNode.Request patch = node.apiRequests().get(1);
    assertThat(patch.method()).isEqualTo("PATCH");
    assertThat(patch.ifMatch()).isEqualTo("\"4\"");
    JsonNode body = parse(patch.body());
    assertThat(body.path("state").asText()).isEqualTo("in_progress");
    assertThat(body.path("owner").asText()).isEqualTo("oscar");
  }

  @Test
  void anIllegalTransitionExitsFiveWithTheServersCode() {
    node.on("GET /api/v1/alarms/12", 200, DETAIL);
    node.on(
        "PATCH /api/v1/alarms/12",
        409,
        "{\"code\":\"illegal_transition\",\"message\":\"Alarm 12 is closed and cannot become"
            + " on_hold.\"}");

    Run run = vigil("alarm", "set", "12", "--state", "on_hold");

    assertThat(run.exit).isEqualTo(ExitCodes.CONFLICT);
    assertThat(run.err).contains("(illegal_transition)");
  }

  @Test
  void alarmSetWithoutAChangeOrWithABadIdIsAUsageErrorAndSendsNothing() {
    Run nothing = vigil("alarm", "set", "12");
    Run badId = vigil("alarm", "show", "../users");

    assertThat(nothing.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(nothing.err).contains("(nothing_to_change)");
    assertThat(badId.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(badId.err).contains("(invalid_id)");
    assertThat(node.apiRequests()).isEmpty();
  }

  @Test
  void alarmCommentPostsTheText() throws Exception {
    node.on("POST /api/v1/alarms/12/comments", 201, DETAIL);

    Run run = vigil("alarm", "comment", "12", "Guard on the way");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).isEqualTo("Commented on alarm 12.\n");
    assertThat(parse(node.apiRequests().get(0).body()).path("text").asText())
        .isEqualTo("Guard on the way");
  }

  @Test
  void alarmDefinitionsListsNamePriorityAndEventTypes() {
    node.on(
        "GET /api/v1/alarm-definitions",
        200,
        """
        {"items":[{"id":"5e0c","name":"Door forced","enabled":true,"priority":1,
         "eventTypes":["door.forced","door.held"],"activeWhen":null}]}""");

    Run run = vigil("alarm", "definitions");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("Door forced")
        .contains("door.forced,door.held")
        .contains("always");
  }
}
