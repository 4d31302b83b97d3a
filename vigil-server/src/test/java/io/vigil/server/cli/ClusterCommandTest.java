package io.vigil.server.cli;

import static io.vigil.server.cli.AdminCommandsTest.parse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ClusterCommandTest {

  static final String STATUS =
      """
      {"role":"management","owner":"node-1","ownerUrl":"http://10.0.0.1:8080","epoch":7,
       "ownerSince":"2025-03-01T10:15:30.123Z","maintenance":false,"failed":false,
       "failedReason":null,"moveRequestedTo":null,
       "nodes":[
        {"name":"node-1","url":"http://10.0.0.1:8080","state":"active",
         "lastHeartbeat":"2025-03-01T10:20:00.5Z","startedAt":"2025-03-01T10:00:00Z",
         "paused":false,"draining":false},
        {"name":"node-2","url":"http://10.0.0.2:8080","state":"down",
         "lastHeartbeat":null,"startedAt":null,"paused":false,"draining":false}],
       "resources":[
        {"name":"client-access-point","kind":"builtin","dependsOn":[],"state":"running",
         "node":"node-1","since":"2025-03-01T10:15:31Z","lastProblem":null},
        {"name":"backup-agent","kind":"generic","dependsOn":["client-access-point","identity-provider"],
         "state":"starting","node":"node-1","since":"2025-03-01T10:15:32Z",
         "lastProblem":"check command exited with 3, output «not ready»"}]}""";

  static final String FAILED =
      """
      {"role":"management","owner":null,"ownerUrl":null,"epoch":12,"ownerSince":null,
       "maintenance":true,"failed":true,"failedReason":"failed over 3 times in 1 hour",
       "moveRequestedTo":"*","nodes":[],"resources":[]}""";

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

  FakeNode.Request onlyApiRequest() {
    assertThat(node.apiRequests()).hasSize(1);
    return node.apiRequests().get(0);
  }

  // ---- reading

  @Test
  void statusPrintsTheRoleThenNodesThenResources() {
    node.on("GET /api/v1/cluster", 200, STATUS);

    Run run = vigil("cluster", "status");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.err).isEmpty();
    assertThat(onlyApiRequest().authorization()).isEqualTo("Bearer tok-123");
    assertThat(run.out.lines().toList())
        .containsExactly(
            "Role:        management",
            "Owner:       node-1 (http://10.0.0.1:8080)",
            "Epoch:       7",
            "Since:       2025-03-01T10:15:30Z",
            "Maintenance: off",
            "Failed:      no",
            "",
            "NODES",
            "NAME    STATE   URL                   LAST HEARTBEAT",
            "node-1  active  http://10.0.0.1:8080  2025-03-01T10:20:00Z",
            "node-2  down    http://10.0.0.2:8080  -",
            "",
            "RESOURCES",
            "NAME                 STATE     NODE    SINCE                 DEPENDS ON"
                + "                             LAST PROBLEM",
            "client-access-point  running   node-1  2025-03-01T10:15:31Z  -"
                + "                                      -",
            "backup-agent         starting  node-1  2025-03-01T10:15:32Z"
                + "  client-access-point,identity-provider  check command exited with 3, output «not ready»");
  }

  @Test
  void statusOfAFailedRoleWithoutOwnerSaysWhyAndShowsTheRequestedMove() {
    node.on("GET /api/v1/cluster", 200, FAILED);

    Run run = vigil("cluster", "status");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out)
        .contains("Owner:       none\n")
        .contains("Since:       -\n")
        .contains("Maintenance: on\n")
        .contains("Failed:      yes: failed over 3 times in 1 hour\n")
        .contains("Move:        requested to any other node\n");
  }

  @Test
  void statusJsonPrintsTheServersJson() {
    node.on("GET /api/v1/cluster", 200, STATUS);

    Run run = vigil("cluster", "status", "--json");

    assertThat(run.exit).isZero();
    JsonNode printed = parse(run.out);
    assertThat(printed).isEqualTo(parse(STATUS));
  }

  @Test
  void historyPassesTheLimitAndPrintsATable() {
    node.on(
        "GET /api/v1/cluster/history?limit=20",
        200,
        """
        {"items":[{"id":9,"at":"2025-03-01T10:15:30.9Z","node":"node-1","event":"took-role",
        "reason":"lease of node-2 expired"},{"id":8,"at":"2025-03-01T10:15:00Z","node":"node-2",
        "event":"lost-role","reason":null}],"nextCursor":null}""");

    Run run = vigil("cluster", "history", "--limit", "20");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out.lines().toList())
        .containsExactly(
            "AT                    NODE    EVENT      REASON",
            "2025-03-01T10:15:30Z  node-1  took-role  lease of node-2 expired",
            "2025-03-01T10:15:00Z  node-2  lost-role  -");
  }

  @Test
  void validateExitsNonZeroAndNamesWhatAFailoverWouldBreakWhenALiveNodeCannotTakeTheRole() {
    node.on(
        "GET /api/v1/cluster/validation",
        200,
        """
        {"items":[{"node":"node-1","state":"active","up":true,"checkedAt":"2025-03-01T10:15:30Z",
        "eligible":true,"problem":null,"failoverWouldBreak":[],"warnings":
        ["TLS certificate CN=a expires in 12 days"],"report":{"protector":"certificate CN=dp","keys":2,"keysUnwrappable":2,
        "certificates":[{"use":"data-protection","thumbprint":"AB","found":true,"subject":"CN=dp",
        "daysLeft":300,"trusted":true,"privateKeyReadable":true}]}},
        {"node":"node-2","state":"ineligible","up":true,"checkedAt":"2025-03-01T10:15:31Z",
        "eligible":false,"problem":"cannot unwrap 1 key","failoverWouldBreak":
        ["client secret of client rs1 could not be read there"],"warnings":[],"report":{"protector":"machine key",
        "keys":2,"keysUnwrappable":1,"certificates":[]}},
        {"node":"node-3","state":"down","up":false,"checkedAt":null,"eligible":false,
        "problem":null,"failoverWouldBreak":[],"warnings":[],"report":null}],"nextCursor":null}""");

    Run run = vigil("cluster", "validate");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.out)
        .contains("node-1  active      yes")
        .contains("node-2  ineligible  NO")
        .contains("1/2")
        .contains("node-3  down        down")
        .contains("node-2: a failover here would break: client secret of client rs1")
        .contains("node-1: warning: TLS certificate CN=a expires in 12 days")
        .contains("node-1: data-protection certificate AB CN=dp, 300 days left, trusted")
        .contains("Not every live node can take the role");
  }

  @Test
  void validateExitsZeroWhenEveryLiveNodeCanTakeTheRole() {
    node.on(
        "GET /api/v1/cluster/validation",
        200,
        """
        {"items":[{"node":"node-1","state":"active","up":true,"checkedAt":"2025-03-01T10:15:30Z",
        "eligible":true,"problem":null,"failoverWouldBreak":[],"warnings":[],"report":null}],
        "nextCursor":null}""");
    Run run = vigil("cluster", "validate");
    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out).contains("Every live node can take the role.");
  }

  @Test
  void historyWithoutLimitLetsTheServerChooseAndReportsItsRefusal() {
    node.on("GET /api/v1/cluster/history", 200, "{\"items\":[],\"nextCursor\":null}");
    assertThat(vigil("cluster", "history").out).isEqualTo("AT  NODE  EVENT  REASON\n");

    node.on(
        "GET /api/v1/cluster/history?limit=900",
        400,
        "{\"code\":\"invalid_limit\",\"message\":\"limit=900 is invalid: use a whole number"
            + " from 1 to 500.\"}");
    Run run = vigil("cluster", "history", "--limit", "900");
    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err)
        .isEqualTo(
            "error: limit=900 is invalid: use a whole number from 1 to 500. (invalid_limit)\n");
  }

  // ---- the role

  @Test
  void maintenanceOnAndOffPutTheFlag() {
    node.on("PUT /api/v1/cluster/maintenance", 204, "");

    Run on = vigil("cluster", "maintenance", "on");
    Run off = vigil("cluster", "maintenance", "OFF");

    assertThat(on.exit).as(on.err).isZero();
    assertThat(off.exit).as(off.err).isZero();
    assertThat(node.apiRequests())
        .extracting(r -> r.method() + " " + r.body())
        .containsExactly("PUT {\"enabled\":true}", "PUT {\"enabled\":false}");
    assertThat(on.out).startsWith("Maintenance on:").contains("vigil cluster maintenance off");
    assertThat(off.out).startsWith("Maintenance off:");
  }

  @Test
  void maintenanceWithAnythingButOnOrOffIsAUsageErrorAndSendsNothing() {
    Run run = vigil("cluster", "maintenance", "yes");

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("\"yes\" is neither on nor off");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void moveSendsTheTargetOrAnEmptyObjectForAnyNode() {
    node.on("POST /api/v1/cluster/move", 202, "{\"status\":\"requested\",\"to\":\"node-2\"}");

    Run to = vigil("cluster", "move", "--to", "node-2");
    Run any = vigil("cluster", "move");

    assertThat(to.exit).as(to.err).isZero();
    assertThat(any.exit).as(any.err).isZero();
    assertThat(node.apiRequests())
        .extracting(FakeNode.Request::body)
        .containsExactly("{\"to\":\"node-2\"}", "{}");
    assertThat(to.out).startsWith("Asked to move the role to node-2.").contains("cluster status");
    assertThat(any.out).startsWith("Asked to move the role to the most preferred other node.");
  }

  @Test
  void moveJsonPrintsTheServersAnswer() {
    node.on("POST /api/v1/cluster/move", 202, "{\"status\":\"requested\",\"to\":null}");

    Run run = vigil("cluster", "move", "--json");

    assertThat(run.exit).isZero();
    assertThat(parse(run.out).path("status").asText()).isEqualTo("requested");
  }

  @Test
  void refusedMoveExitsFiveWithTheServersCode() {
    node.on(
        "POST /api/v1/cluster/move",
        409,
        "{\"code\":\"node_paused\",\"message\":\"Node \\\"node-2\\\" is paused: resume it"
            + " first.\"}");

    Run run = vigil("cluster", "move", "--to", "node-2");

    assertThat(run.exit).isEqualTo(ExitCodes.CONFLICT);
    assertThat(run.err)
        .isEqualTo("error: Node \"node-2\" is paused: resume it first. (node_paused)\n");
  }

  @Test
  void resetPostsToReset() {
    node.on("POST /api/v1/cluster/reset", 204, "");

    Run run = vigil("cluster", "reset");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(onlyApiRequest().method()).isEqualTo("POST");
    assertThat(run.out).startsWith("Cleared the failed state of the role");
  }

  // ---- nodes

  @Test
  void nodePauseResumeAndDrainPostToTheNode() {
    for (String action : new String[] {"pause", "resume", "drain"}) {
      node.on(
          "POST /api/v1/cluster/nodes/node-2/" + action,
          202,
          "{\"status\":\"requested\",\"node\":\"node-2\"}");
      Run run = vigil("cluster", "node", action, "node-2");
      assertThat(run.exit).as(action + ": " + run.err).isZero();
      assertThat(run.out).contains("node node-2");
    }
    assertThat(node.apiRequests())
        .extracting(FakeNode.Request::uri)
        .containsExactly(
            "/api/v1/cluster/nodes/node-2/pause",
            "/api/v1/cluster/nodes/node-2/resume",
            "/api/v1/cluster/nodes/node-2/drain");
  }

  @Test
  void unknownNodeExitsFourAndABadNodeNameSendsNothing() {
    Run unknown = vigil("cluster", "node", "drain", "node-9");
    assertThat(unknown.exit).isEqualTo(ExitCodes.NOT_FOUND);

    node.requests.clear();
    Run bad = vigil("cluster", "node", "pause", "../reset");
    assertThat(bad.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.err).contains("\"../reset\" is not a node name").contains("(invalid_node_name)");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void nodeAndClusterWithoutASubcommandListTheChoices() {
    assertThat(vigil("cluster", "node").err).contains("pause, resume, drain");
    Run run = vigil("cluster");
    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err)
        .contains("status, history, validate, maintenance, move, node, resource, reset");
    assertThat(node.requests).isEmpty();
  }

  // ---- resources

  @Test
  void resourceAddSendsEveryOptionWithDurationsInMilliseconds() {
    node.on("POST /api/v1/cluster/resources", 201, "{\"name\":\"backup-agent\"}");

    Run run =
        vigil(
            "cluster",
            "resource",
            "add",
            "backup-agent",
            "--start",
            "systemctl start backup",
            "--stop",
            "systemctl stop backup",
            "--check",
            "systemctl is-active backup",
            "--depends-on",
            "management-server",
            "--depends-on",
            "event-server",
            "--check-interval",
            "500ms",
            "--check-timeout",
            "2s",
            "--restart-limit",
            "5",
            "--restart-period",
            "10m",
            "--start-timeout",
            "1h",
            "--stop-timeout",
            "45s");

    assertThat(run.exit).as(run.err).isZero();
    JsonNode sent = parse(onlyApiRequest().body());
    assertThat(sent)
        .isEqualTo(
            parse(
                """
                {"name":"backup-agent","start":"systemctl start backup",
                 "stop":"systemctl stop backup","check":"systemctl is-active backup",
                 "dependsOn":["management-server","event-server"],"checkIntervalMs":500,
                 "checkTimeoutMs":2000,"restartLimit":5,"restartPeriodMs":600000,
                 "startTimeoutMs":3600000,"stopTimeoutMs":45000}"""));
    assertThat(run.out)
        .startsWith(
            "Added resource backup-agent (depends on management-server, event-server) to the"
                + " role");
  }

  @Test
  void resourceAddLeavesOutWhatWasNotGivenSoTheServerDefaultsApply() {
    node.on("POST /api/v1/cluster/resources", 201, "{\"name\":\"relay\"}");

    Run run = vigil("cluster", "resource", "add", "relay", "--start", "a", "--stop", "b");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(parse(onlyApiRequest().body()))
        .isEqualTo(parse("{\"name\":\"relay\",\"start\":\"a\",\"stop\":\"b\",\"dependsOn\":[]}"));
  }

  @Test
  void badDurationsAndMissingCommandsAreUsageErrorsAndSendNothing() {
    for (String duration : new String[] {"10", "0s", "-2s", "2 minutes", "1.5s", "s"}) {
      Run run =
          vigil(
              "cluster",
              "resource",
              "add",
              "relay",
              "--start",
              "a",
              "--stop",
              "b",
              "--check-interval",
              duration);
      assertThat(run.exit).as(duration).isEqualTo(ExitCodes.USAGE);
      assertThat(run.err).as(duration).contains("is not a positive duration").contains("500ms");
    }
    Run missing = vigil("cluster", "resource", "add", "relay", "--start", "a");
    assertThat(missing.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(missing.err).contains("--stop");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void invalidResourceFromTheServerExitsOneWithItsMessage() {
    node.on(
        "POST /api/v1/cluster/resources",
        400,
        "{\"code\":\"invalid_resource\",\"message\":\"name of generic resource 'Relay' is"
            + " invalid\"}");

    Run run = vigil("cluster", "resource", "add", "Relay", "--start", "a", "--stop", "b");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("'Relay' is invalid").endsWith("(invalid_resource)\n");
  }

  @Test
  void resourceRemoveStartAndStopAddressTheResource() {
    node.on("DELETE /api/v1/cluster/resources/relay", 204, "");
    node.on("POST /api/v1/cluster/resources/relay/start", 202, "{\"status\":\"requested\"}");
    node.on("POST /api/v1/cluster/resources/relay/stop", 202, "{\"status\":\"requested\"}");

    assertThat(vigil("cluster", "resource", "remove", "relay").out)
        .isEqualTo("Removed resource relay from the role.\n");
    assertThat(vigil("cluster", "resource", "start", "relay").out)
        .startsWith("Asked to start resource relay");
    assertThat(vigil("cluster", "resource", "stop", "relay").out)
        .startsWith("Asked to stop resource relay");
    assertThat(node.apiRequests())
        .extracting(r -> r.method() + " " + r.uri())
        .containsExactly(
            "DELETE /api/v1/cluster/resources/relay",
            "POST /api/v1/cluster/resources/relay/start",
            "POST /api/v1/cluster/resources/relay/stop");
  }

  @Test
  void resourceStartOutsideMaintenanceExitsFiveAndABadNameSendsNothing() {
    node.on(
        "POST /api/v1/cluster/resources/relay/start",
        409,
        "{\"code\":\"not_in_maintenance\",\"message\":\"Turn maintenance on first.\"}");
    assertThat(vigil("cluster", "resource", "start", "relay").exit).isEqualTo(ExitCodes.CONFLICT);

    node.requests.clear();
    Run bad = vigil("cluster", "resource", "stop", "Relay/x");
    assertThat(bad.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.err).contains("(invalid_resource_name)");
    assertThat(node.requests).isEmpty();
  }

  @Test
  void resourceListShowsKindStateAndDependencies() {
    node.on(
        "GET /api/v1/cluster/resources",
        200,
        """
        {"items":[{"name":"relay","kind":"generic","dependsOn":["management-server"],
        "state":"running","node":"node-1","since":"2025-03-01T10:15:32Z","lastProblem":null}],
        "nextCursor":null}""");

    Run run = vigil("cluster", "resource", "list");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(run.out.lines().toList())
        .containsExactly(
            "NAME   KIND     STATE    NODE    SINCE                 DEPENDS ON         LAST PROBLEM",
            "relay  generic  running  node-1  2025-03-01T10:15:32Z  management-server  -");
  }
}
