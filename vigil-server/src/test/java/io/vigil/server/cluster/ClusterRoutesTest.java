package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.cluster.ClusterService.ClusterStatus;
import io.vigil.server.cluster.ClusterService.HistoryEntry;
import io.vigil.server.cluster.ClusterService.NodeStatus;
import io.vigil.server.cluster.ClusterService.ResourceStatus;
import io.vigil.server.config.Settings;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.HttpServer;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The cluster routes over real HTTP against a service that records what it is asked. Tokens map to
 * callers through a fixed table; the viewer has only {@code CLUSTER_READ}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterRoutesTest {

  static final String ADMIN = "admin-token";
  static final String VIEWER = "viewer-token";
  static final Instant T0 = Instant.parse("2025-03-01T10:15:30Z");

  // One server for the class: stopping Jetty takes about a second, and the fake is reset instead.
  final RecordingService service = new RecordingService();
  HttpServer server;
  TestHttp http;

  @BeforeAll
  void start() {
    Settings settings = new Settings();
    settings.http.host = "127.0.0.1";
    settings.http.port = 0;
    settings.http.maxRequestBytes = 16 * 1024;
    Map<String, Principal> callers =
        Map.of(
            ADMIN, principal("alice", Role.ADMINISTRATOR),
            VIEWER, principal("victor", Role.VIEWER));
    server =
        HttpServer.start(
            settings,
            token -> {
              Principal p = callers.get(token);
              if (p == null) {
                throw ApiException.unauthorized("unknown test token");
              }
              return p;
            },
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            () -> true,
            List.of(new ClusterRoutes(service)));
    http = new TestHttp("http://127.0.0.1:" + server.port());
  }

  @BeforeEach
  void forgetEarlierCalls() {
    service.calls.clear();
    service.added.clear();
    service.failure = null;
    service.commandFailure = null;
  }

  @AfterAll
  void stop() {
    server.close();
  }

  private static Principal principal(String name, Role role) {
    return new Principal("id-" + name, name, "vigil-cli", Set.of(role), Set.of("vigil.api"));
  }

  Response send(String method, String path, String token, String json) {
    return http.send(method, path, token, json, Map.of());
  }

  // ---- reading

  @Test
  void statusRendersEveryFieldWithIsoInstants() {
    Response r = http.get("/api/v1/cluster", VIEWER);

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode s = r.json();
    assertThat(s.get("role").asText()).isEqualTo("management");
    assertThat(s.get("owner").asText()).isEqualTo("node-1");
    assertThat(s.get("ownerUrl").asText()).isEqualTo("http://10.0.0.1:8080");
    assertThat(s.get("epoch").asLong()).isEqualTo(7);
    assertThat(s.get("ownerSince").asText()).isEqualTo("2025-03-01T10:15:30Z");
    assertThat(s.get("maintenance").asBoolean()).isFalse();
    assertThat(s.get("failed").asBoolean()).isFalse();
    assertThat(s.get("failedReason").isNull()).isTrue();
    assertThat(s.get("nodes")).hasSize(2);
    assertThat(s.get("nodes").get(1).get("state").asText()).isEqualTo("standby");
    assertThat(s.get("resources").get(0).get("name").asText()).isEqualTo("client-access-point");
    assertThat(s.get("resources").get(1).get("dependsOn").get(0).asText())
        .isEqualTo("client-access-point");
    assertThat(service.calls).containsExactly("status()");
  }

  @Test
  void validationListsEachNodesCheckForAViewer() {
    Response r = http.get("/api/v1/cluster/validation", VIEWER);
    assertThat(r.status()).isEqualTo(200);
    JsonNode node = r.json().get("items").get(0);
    assertThat(node.get("node").asText()).isEqualTo("node-2");
    assertThat(node.get("eligible").asBoolean()).isFalse();
    assertThat(node.get("problem").asText()).startsWith("Keyset does not exist");
    assertThat(node.get("failoverWouldBreak").get(0).asText()).contains("would not take the role");
    assertThat(service.calls).containsExactly("validate()");
  }

  @Test
  void historyDefaultsToFiftyAndPassesTheLimit() {
    Response r = http.get("/api/v1/cluster/history", VIEWER);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("items").get(0).get("event").asText()).isEqualTo("took-role");
    assertThat(r.json().get("items").get(0).get("at").asText()).isEqualTo("2025-03-01T10:15:30Z");
    assertThat(r.json().get("nextCursor").isNull()).isTrue();

    assertThat(http.get("/api/v1/cluster/history?limit=500", VIEWER).status()).isEqualTo(200);
    assertThat(http.get("/api/v1/cluster/history?limit=1", VIEWER).status()).isEqualTo(200);
    assertThat(service.calls).containsExactly("history(50)", "history(500)", "history(1)");
  }

  @Test
  void historyLimitOutOfRangeIs400AndCallsNothing() {
    for (String limit : List.of("0", "501", "-3", "ten", "")) {
      Response r = http.get("/api/v1/cluster/history?limit=" + limit, VIEWER);
      assertThat(r.status()).as(limit).isEqualTo(400);
      assertThat(r.json().get("code").asText()).isEqualTo("invalid_limit");
      assertThat(r.json().get("message").asText()).contains("1 to 500");
    }
    assertThat(service.calls).isEmpty();
  }

  @Test
  void resourcesListsTheResourcesOfTheStatus() {
    Response r = http.get("/api/v1/cluster/resources", VIEWER);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().get("items")).hasSize(2);
    assertThat(r.json().get("items").get(1).get("lastProblem").asText())
        .isEqualTo("check timed out");
    assertThat(r.json().get("nextCursor").isNull()).isTrue();
  }

  @Test
  void aCommandsOutputIsShownOnlyToCallersWhoMayChangeTheCluster() {
    service.commandFailure =
        "start command of resource backup-agent exited with 3, output «login failed for"
            + " backup:hunter2»; failed over 3 times";

    for (String path :
        List.of("/api/v1/cluster", "/api/v1/cluster/resources", "/api/v1/cluster/history")) {
      Response viewer = http.get(path, VIEWER);
      assertThat(viewer.status()).as(path).isEqualTo(200);
      assertThat(viewer.body())
          .as(path)
          .doesNotContain("hunter2")
          .contains("exited with 3, output «output hidden")
          .contains("failed over 3 times");
      Response admin = http.get(path, ADMIN);
      assertThat(admin.body()).as(path).contains("login failed for backup:hunter2");
    }
  }

  // ---- changes

  @Test
  void maintenanceOnAndOffPassTheFlagAndTheCaller() {
    Response on = send("PUT", "/api/v1/cluster/maintenance", ADMIN, "{\"enabled\":true}");
    Response off = send("PUT", "/api/v1/cluster/maintenance", ADMIN, "{\"enabled\":false}");

    assertThat(on.status()).isEqualTo(204);
    assertThat(off.status()).isEqualTo(204);
    assertThat(service.calls)
        .containsExactly("maintenance(true, alice)", "maintenance(false, alice)");
  }

  @Test
  void badMaintenanceBodiesAre400AndCallNothing() {
    Map<String, String> cases =
        Map.of(
            "{}", "missing_field",
            "{\"enabled\":null}", "missing_field",
            "{\"enabled\":\"yes\"}", "wrong_type",
            "{\"enabled\":1}", "wrong_type",
            "{\"enabled\":true,\"force\":true}", "unknown_field",
            "{\"enabled\":tru", "malformed_json");
    cases.forEach(
        (body, code) -> {
          Response r = send("PUT", "/api/v1/cluster/maintenance", ADMIN, body);
          assertThat(r.status()).as(body).isEqualTo(400);
          assertThat(r.json().get("code").asText()).as(body).isEqualTo(code);
        });
    assertThat(send("PUT", "/api/v1/cluster/maintenance", ADMIN, null).status()).isEqualTo(415);
    assertThat(service.calls).isEmpty();
  }

  @Test
  void moveToANamedNodeOrToAnyNode() {
    Response named = send("POST", "/api/v1/cluster/move", ADMIN, "{\"to\":\"node-2\"}");
    assertThat(named.status()).isEqualTo(202);
    assertThat(named.json().get("status").asText()).isEqualTo("requested");
    assertThat(named.json().get("to").asText()).isEqualTo("node-2");

    Response empty = send("POST", "/api/v1/cluster/move", ADMIN, "{}");
    assertThat(empty.status()).isEqualTo(202);
    assertThat(empty.json().get("to").isNull()).isTrue();

    assertThat(send("POST", "/api/v1/cluster/move", ADMIN, "{\"to\":null}").status())
        .isEqualTo(202);
    assertThat(send("POST", "/api/v1/cluster/move", ADMIN, null).status()).isEqualTo(202);
    assertThat(service.calls)
        .containsExactly(
            "move(node-2, alice)", "move(null, alice)", "move(null, alice)", "move(null, alice)");
  }

  @Test
  void moveToSomethingThatIsNotANodeNameIs400() {
    for (String body : List.of("{\"to\":\"\"}", "{\"to\":\"a/b\"}", "{\"to\":\"-x\"}")) {
      Response r = send("POST", "/api/v1/cluster/move", ADMIN, body);
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.json().get("code").asText()).isEqualTo("invalid_node_name");
    }
    Response wrongType = send("POST", "/api/v1/cluster/move", ADMIN, "{\"to\":2}");
    assertThat(wrongType.json().get("code").asText()).isEqualTo("wrong_type");
    assertThat(service.calls).isEmpty();
  }

  @Test
  void nodeActionsNameTheNodeAndTheCaller() {
    for (String action : List.of("pause", "resume", "drain")) {
      Response r = send("POST", "/api/v1/cluster/nodes/node-2.example_b/" + action, ADMIN, null);
      assertThat(r.status()).as(action).isEqualTo(202);
      assertThat(r.json().get("node").asText()).isEqualTo("node-2.example_b");
    }
    assertThat(service.calls)
        .containsExactly(
            "pauseNode(node-2.example_b, alice)",
            "resumeNode(node-2.example_b, alice)",
            "drainNode(node-2.example_b, alice)");
  }

  @Test
  void nodeNamesThatCannotExistAre404() {
    for (String name : List.of("-node", ".hidden", "x".repeat(64), "a%20b", "n%C3%B6de")) {
      Response r = send("POST", "/api/v1/cluster/nodes/" + name + "/pause", ADMIN, null);
      assertThat(r.status()).as(name).isEqualTo(404);
      assertThat(r.json().get("code").asText()).isEqualTo("not_found");
    }
    assertThat(service.calls).isEmpty();
  }

  @Test
  void addingAResourceAppliesTheDefaultsAndEchoesTheDefinition() {
    Response r =
        send(
            "POST",
            "/api/v1/cluster/resources",
            ADMIN,
            "{\"name\":\"backup-agent\",\"start\":\"systemctl start backup\","
                + "\"stop\":\"systemctl stop backup\"}");

    assertThat(r.status()).as(r.body()).isEqualTo(201);
    GenericResource.Definition d = service.added.getFirst();
    assertThat(d.name()).isEqualTo("backup-agent");
    assertThat(d.startCommand()).isEqualTo("systemctl start backup");
    assertThat(d.stopCommand()).isEqualTo("systemctl stop backup");
    assertThat(d.checkCommand()).isNull();
    assertThat(d.dependsOn()).isEmpty();
    assertThat(d.policy()).isEqualTo(ResourcePolicy.DEFAULT);
    assertThat(service.calls).containsExactly("addResource(backup-agent, alice)");
    JsonNode echo = r.json();
    assertThat(echo.get("checkIntervalMs").asLong()).isEqualTo(2000);
    assertThat(echo.get("restartLimit").asInt()).isEqualTo(3);
    assertThat(echo.get("restartPeriodMs").asLong()).isEqualTo(600_000);
    assertThat(echo.get("check").isNull()).isTrue();
  }

  @Test
  void addingAResourceWithEveryFieldPassesThemAll() {
    Response r =
        send(
            "POST",
            "/api/v1/cluster/resources",
            ADMIN,
            """
            {"name":"relay","start":"relay start","stop":"relay stop","check":"relay ping",
             "dependsOn":["management-server","event-server"],"checkIntervalMs":500,
             "checkTimeoutMs":250,"restartLimit":0,"restartPeriodMs":60000,
             "startTimeoutMs":5000,"stopTimeoutMs":4000}""");

    assertThat(r.status()).as(r.body()).isEqualTo(201);
    GenericResource.Definition d = service.added.getFirst();
    assertThat(d.checkCommand()).isEqualTo("relay ping");
    assertThat(d.dependsOn()).containsExactly("management-server", "event-server");
    assertThat(d.policy())
        .isEqualTo(
            new ResourcePolicy(
                Duration.ofMillis(500),
                Duration.ofMillis(250),
                0,
                Duration.ofMinutes(1),
                Duration.ofSeconds(5),
                Duration.ofSeconds(4)));
  }

  @Test
  void invalidResourcesAre400WithTheValidatorsMessageAndAddNothing() {
    Map<String, String> cases =
        Map.of(
            "{\"name\":\"Backup\",\"start\":\"a\",\"stop\":\"b\"}",
            "name of generic resource 'Backup' is invalid",
            "{\"name\":\"backup\",\"stop\":\"b\"}",
            "start command of generic resource backup is missing",
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"  \"}",
            "stop command of generic resource backup is blank",
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"dependsOn\":[\"backup\"]}",
            "depends on itself",
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"checkIntervalMs\":0}",
            "checkIntervalMs of generic resource backup is 0",
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"stopTimeoutMs\":-5}",
            "stopTimeoutMs of generic resource backup is -5",
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"restartLimit\":-1}",
            "restartLimit of generic resource backup is -1");
    cases.forEach(
        (body, message) -> {
          Response r = send("POST", "/api/v1/cluster/resources", ADMIN, body);
          assertThat(r.status()).as(body).isEqualTo(400);
          assertThat(r.json().get("code").asText()).as(body).isEqualTo("invalid_resource");
          assertThat(r.json().get("message").asText()).as(body).contains(message);
        });
    Response unknown =
        send(
            "POST",
            "/api/v1/cluster/resources",
            ADMIN,
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"command\":\"c\"}");
    assertThat(unknown.json().get("code").asText()).isEqualTo("unknown_field");
    Response wrongType =
        send(
            "POST",
            "/api/v1/cluster/resources",
            ADMIN,
            "{\"name\":\"backup\",\"start\":\"a\",\"stop\":\"b\",\"checkIntervalMs\":\"2s\"}");
    assertThat(wrongType.json().get("code").asText()).isEqualTo("wrong_type");
    assertThat(service.calls).isEmpty();
  }

  @Test
  void removeStartAndStopAResourceByName() {
    assertThat(send("DELETE", "/api/v1/cluster/resources/backup-agent", ADMIN, null).status())
        .isEqualTo(204);
    Response started = send("POST", "/api/v1/cluster/resources/event-server/start", ADMIN, null);
    assertThat(started.status()).isEqualTo(202);
    assertThat(started.json().get("resource").asText()).isEqualTo("event-server");
    assertThat(send("POST", "/api/v1/cluster/resources/event-server/stop", ADMIN, null).status())
        .isEqualTo(202);
    assertThat(send("POST", "/api/v1/cluster/resources/Bad_Name/stop", ADMIN, null).status())
        .isEqualTo(404);
    assertThat(service.calls)
        .containsExactly(
            "removeResource(backup-agent, alice)",
            "startResource(event-server, alice)",
            "stopResource(event-server, alice)");
  }

  @Test
  void resetClearsTheFailedRole() {
    assertThat(send("POST", "/api/v1/cluster/reset", ADMIN, null).status()).isEqualTo(204);
    assertThat(service.calls).containsExactly("resetRole(alice)");
  }

  // ---- permissions and service errors

  @Test
  void viewerCanReadButEveryChangeIs403AndCallsNothing() {
    assertThat(http.get("/api/v1/cluster", VIEWER).status()).isEqualTo(200);
    service.calls.clear();
    List<String[]> changes =
        List.of(
            new String[] {"PUT", "/api/v1/cluster/maintenance", "{\"enabled\":true}"},
            new String[] {"POST", "/api/v1/cluster/move", "{}"},
            new String[] {"POST", "/api/v1/cluster/nodes/node-2/pause", null},
            new String[] {"POST", "/api/v1/cluster/nodes/node-2/resume", null},
            new String[] {"POST", "/api/v1/cluster/nodes/node-2/drain", null},
            new String[] {
              "POST", "/api/v1/cluster/resources", "{\"name\":\"x\",\"start\":\"a\",\"stop\":\"b\"}"
            },
            new String[] {"DELETE", "/api/v1/cluster/resources/x", null},
            new String[] {"POST", "/api/v1/cluster/resources/x/start", null},
            new String[] {"POST", "/api/v1/cluster/resources/x/stop", null},
            new String[] {"POST", "/api/v1/cluster/reset", null});
    for (String[] c : changes) {
      Response r = send(c[0], c[1], VIEWER, c[2]);
      assertThat(r.status()).as(c[0] + " " + c[1]).isEqualTo(403);
      assertThat(r.json().get("message").asText()).contains("cluster_write");
    }
    assertThat(service.calls).isEmpty();
  }

  @Test
  void withoutATokenNothingIsReadOrCalled() {
    assertThat(http.get("/api/v1/cluster", null).status()).isEqualTo(401);
    assertThat(send("POST", "/api/v1/cluster/reset", null, null).status()).isEqualTo(401);
    assertThat(service.calls).isEmpty();
  }

  @Test
  void clusterExceptionsKeepTheirStatusCodeAndMessage() {
    service.failure = new ClusterException(409, "node_paused", "Node \"node-2\" is paused.");
    Response conflict = send("POST", "/api/v1/cluster/move", ADMIN, "{\"to\":\"node-2\"}");
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.json().get("code").asText()).isEqualTo("node_paused");
    assertThat(conflict.json().get("message").asText()).isEqualTo("Node \"node-2\" is paused.");

    service.failure = new ClusterException(404, "node_not_found", "No node \"node-9\".");
    Response missing = send("POST", "/api/v1/cluster/nodes/node-9/drain", ADMIN, null);
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().get("code").asText()).isEqualTo("node_not_found");
  }

  /** Records each call as text; answers from canned data or throws {@link #failure}. */
  static final class RecordingService implements ClusterService {
    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<GenericResource.Definition> added = new CopyOnWriteArrayList<>();
    volatile ClusterException failure;
    volatile String commandFailure;

    private void record(String call) {
      calls.add(call);
      if (failure != null) {
        throw failure;
      }
    }

    @Override
    public ClusterStatus status() {
      record("status()");
      return new ClusterStatus(
          "management",
          "node-1",
          "http://10.0.0.1:8080",
          7,
          T0,
          false,
          commandFailure != null,
          commandFailure,
          null,
          List.of(
              new NodeStatus(
                  "node-1", "http://10.0.0.1:8080", "active", T0, T0, false, false, null),
              new NodeStatus(
                  "node-2", "http://10.0.0.2:8080", "standby", T0, T0, false, false, null)),
          List.of(
              new ResourceStatus(
                  "client-access-point", "builtin", List.of(), "running", "node-1", T0, null),
              new ResourceStatus(
                  "identity-provider",
                  "builtin",
                  List.of("client-access-point"),
                  "running",
                  "node-1",
                  T0,
                  commandFailure != null ? commandFailure : "check timed out")));
    }

    @Override
    public List<HistoryEntry> history(int limit) {
      record("history(" + limit + ")");
      return List.of(
          new HistoryEntry(
              3,
              T0,
              "node-1",
              "took-role",
              commandFailure != null ? commandFailure : "lease expired on node-2"));
    }

    @Override
    public List<NodeValidation> validate() {
      record("validate()");
      return List.of(
          new NodeValidation(
              "node-2",
              "ineligible",
              true,
              T0,
              false,
              "Keyset does not exist: ...",
              List.of("the node would not take the role"),
              List.of(),
              null));
    }

    @Override
    public void maintenance(boolean on, String by) {
      record("maintenance(" + on + ", " + by + ")");
    }

    @Override
    public void move(String toNode, String by) {
      record("move(" + toNode + ", " + by + ")");
    }

    @Override
    public void pauseNode(String node, String by) {
      record("pauseNode(" + node + ", " + by + ")");
    }

    @Override
    public void resumeNode(String node, String by) {
      record("resumeNode(" + node + ", " + by + ")");
    }

    @Override
    public void drainNode(String node, String by) {
      record("drainNode(" + node + ", " + by + ")");
    }

    @Override
    public void addResource(GenericResource.Definition definition, String by) {
      added.add(definition);
      record("addResource(" + definition.name() + ", " + by + ")");
    }

    @Override
    public void removeResource(String name, String by) {
      record("removeResource(" + name + ", " + by + ")");
    }

    @Override
    public void startResource(String name, String by) {
      record("startResource(" + name + ", " + by + ")");
    }

    @Override
    public void stopResource(String name, String by) {
      record("stopResource(" + name + ", " + by + ")");
    }

    @Override
    public void resetRole(String by) {
      record("resetRole(" + by + ")");
    }
  }
}
