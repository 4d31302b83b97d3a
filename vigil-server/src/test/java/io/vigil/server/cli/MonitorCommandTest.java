package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MonitorCommandTest {

  static final String BUSY =
      """
      {"serverId":"11111111-1111-1111-1111-111111111111","name":"rec-1","type":"recording-server",
       "connection":"online","state":"critical","figures":[
        {"figure":"cpu","state":"critical","value":97.25,"warning":80,"critical":95},
        {"figure":"memory","state":"normal","value":40,"warning":80,"critical":95},
        {"figure":"diskFree","state":"unknown","value":null,"warning":15,"critical":5},
        {"figure":"storageFree","state":"warning","value":8,"warning":10,"critical":5}]}""";
  static final String QUIET =
      """
      {"serverId":"22222222-2222-2222-2222-222222222222","name":"gw","type":"api-gateway",
       "connection":"offline","state":"offline","figures":[]}""";

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

  @Test
  void monitorPrintsServersWorstFirstWithEachFiguresValueAndState() {
    node.on("GET /api/v1/monitor", 200, "{\"items\":[" + BUSY + "],\"nextCursor\":\"c2\"}");
    node.on(
        "GET /api/v1/monitor?cursor=c2", 200, "{\"items\":[" + QUIET + "],\"nextCursor\":null}");

    Run run = vigil("monitor");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out.lines().toList())
        .containsExactly(
            "NAME   TYPE              STATE     CPU              MEMORY  DISK FREE  STORAGE FREE "
                + "  ID",
            "rec-1  recording-server  critical  97.3 % critical  40.0 %  -          8.0 % warning"
                + "  11111111-1111-1111-1111-111111111111",
            "gw     api-gateway       offline   -                -       -          -            "
                + "  22222222-2222-2222-2222-222222222222");
  }

  @Test
  void historyFindsTheServerByNameAndPrintsItsPoints() {
    node.on(
        "GET /api/v1/servers",
        200,
        "{\"items\":[{\"id\":\"11111111-1111-1111-1111-111111111111\",\"name\":\"Rec-1\"}],"
            + "\"nextCursor\":null}");
    node.on(
        "GET /api/v1/monitor/11111111-1111-1111-1111-111111111111/history?figure=memory",
        200,
        """
        {"serverId":"11111111-1111-1111-1111-111111111111","figure":"memory","resolution":"raw",
         "points":[{"at":"2026-03-01T12:00:30.123Z","value":41.04,"samples":6},
                   {"at":"2026-03-01T12:01:00Z","value":55,"samples":6}]}""");

    Run run = vigil("monitor", "history", "rec-1", "--figure", "memory");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out.lines().toList())
        .containsExactly(
            "TIME                  MEMORY  SAMPLES",
            "2026-03-01T12:00:30Z  41.0 %  6",
            "2026-03-01T12:01:00Z  55.0 %  6",
            "Resolution: raw");
  }

  @Test
  void historyOfAnUnknownServerExitsNotFound() {
    node.on("GET /api/v1/servers", 200, "{\"items\":[],\"nextCursor\":null}");

    Run run = vigil("monitor", "history", "nowhere");

    assertThat(run.exit).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(run.err).contains("No server is named \"nowhere\"").contains("(not_found)");
  }
}
