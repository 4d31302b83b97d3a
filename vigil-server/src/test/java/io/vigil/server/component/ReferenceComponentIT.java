package io.vigil.server.component;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.client.ClientCredentials;
import io.vigil.client.EventDraft;
import io.vigil.client.VigilClient;
import io.vigil.server.http.Json;
import io.vigil.server.testing.ComponentProcess;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TcpProxy;
import io.vigil.server.testing.TestHttp;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference component as a real process against a real node: it registers with a one-time
 * token, comes online with its load, sends motion events, rides through a network freeze that
 * forces its calls to be retried (through a TCP proxy, so the node gets the first attempts too),
 * and a restart reuses its registration. Every acknowledged event is stored exactly once.
 */
class ReferenceComponentIT {

  static final String ADMIN_PASSWORD = "reference-component-admin";

  @TempDir Path dir;

  @Test
  void aComponentRegistersWithATokenHeartbeatsAndSendsEachEventOnceThroughForcedRetries()
      throws Exception {
    try (NodeProcess node =
            NodeProcess.create(
                    "start-dev",
                    dir.resolve("data"),
                    Map.of("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD))
                .start();
        TcpProxy proxy = new TcpProxy("127.0.0.1", node.local().port())) {
      node.awaitReady(Duration.ofSeconds(90));
      TestHttp http = new TestHttp(node.url());
      String admin = adminToken(http);
      TestHttp.Response created =
          http.send(
              "POST",
              "/api/v1/registration-tokens",
              admin,
              "{\"type\":\"recording-server\"}",
              Map.of());
      assertThat(created.status()).as(created.body()).isEqualTo(201);
      String registrationToken = created.json().get("registrationToken").asText();

      Path state = dir.resolve("state");
      Path acks = dir.resolve("acks.txt");
      String viaProxy = "http://127.0.0.1:" + proxy.port();
      ComponentProcess component =
          ComponentProcess.start(
              dir.resolve("component.log"),
              Map.of(),
              "--name",
              "rs1",
              "--server",
              viaProxy,
              "--cameras",
              "2",
              "--registration-token",
              registrationToken,
              "--heartbeat-seconds",
              "1",
              "--events-per-minute",
              "240",
              "--state-dir",
              state.toString(),
              "--ack-log",
              acks.toString());
      try {
        component.awaitLines(l -> l.contains("rs1: online"), 1, Duration.ofSeconds(60));

        // Registered with the token: its own client, its server, kept owner-only.
        Path stateFile = state.resolve("rs1.json");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stateFile)))
            .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
            .isEqualTo("rwx------");
        JsonNode saved = Json.MAPPER.readTree(Files.readAllBytes(stateFile));
        String clientId = saved.get("clientId").asText();
        String secret = saved.get("clientSecret").asText();
        String serverId = saved.get("serverId").asText();
        assertThat(String.join("\n", component.lines())).doesNotContain(secret);
        JsonNode token = http.get("/api/v1/registration-tokens", admin).json().get("items").get(0);
        assertThat(token.get("status").asText()).isEqualTo("used");
        assertThat(token.get("usedByClient").asText()).isEqualTo(clientId);

        // Online, with its load: two cameras recording.
        awaitTrue(
            "the server shows online with two cameras recording",
            () -> {
              JsonNode s = http.get("/api/v1/servers/" + serverId, admin).json();
              return s.get("status").asText().equals("online")
                  && s.path("load").path("camerasRecording").asLong() == 2
                  && s.path("load").path("storageUsedBytes").asLong() > 0
                  && s.get("registeredBy").asText().equals(clientId);
            });
        component.awaitLines(
            l -> l.contains("rs1: configuration") && l.contains("2 cameras"),
            1,
            Duration.ofSeconds(30));
        awaitTrue("events are acknowledged", () -> ComponentProcess.ackedKeys(acks).size() >= 8);

        // A freeze of 12 s outlasts the SDK's 10 s request timeout: calls in flight are retried,
        // and after the thaw the node receives the first attempts as well as the retries.
        CompletableFuture<Void> direct;
        try (VigilClient sdk =
            VigilClient.builder()
                .managementServer(viaProxy)
                .credentials(new ClientCredentials(clientId, secret))
                .requestTimeout(Duration.ofSeconds(2))
                .build()) {
          sdk.heartbeat(java.util.UUID.fromString(serverId), null);
          proxy.freeze();
          direct =
              CompletableFuture.runAsync(
                  () ->
                      sdk.sendEvent(
                          new EventDraft(
                              "motion.started",
                              serverId,
                              null,
                              "forced retry",
                              null,
                              "forced-retry-1",
                              null)));
          Thread.sleep(12_000);
          proxy.unfreeze();
          direct.get();
        }
        component.awaitLines(l -> l.contains("rs1: reconnected"), 1, Duration.ofSeconds(30));
        int before = ComponentProcess.ackedKeys(acks).size();
        awaitTrue(
            "events go on after the freeze",
            () -> ComponentProcess.ackedKeys(acks).size() >= before + 8);
        assertThat(component.stop()).isIn(0, 143);
        assertThat(component.lines()).anyMatch(l -> l.contains("rs1: stopped ("));

        Map<String, Integer> stored = ComponentProcess.storedKeys(http, admin);
        assertThat(stored.get("forced-retry-1")).isEqualTo(1);
        List<String> acked = ComponentProcess.ackedKeys(acks);
        assertThat(acked).doesNotHaveDuplicates();
        for (String key : acked) {
          assertThat(stored.get(key)).as("times event %s is stored", key).isEqualTo(1);
        }
        assertThat(stored.values()).as("no event is stored twice").allMatch(n -> n == 1);

        // A restart reuses the registration: no new client, no new server, online again.
        ComponentProcess again =
            ComponentProcess.start(
                dir.resolve("component-2.log"),
                Map.of(),
                "--name",
                "rs1",
                "--server",
                node.url(),
                "--heartbeat-seconds",
                "1",
                "--state-dir",
                state.toString());
        try {
          again.awaitLines(l -> l.contains("rs1: online"), 1, Duration.ofSeconds(60));
          assertThat(again.lines()).anyMatch(l -> l.contains("using its registration"));
          assertThat(again.stop()).isIn(0, 143);
        } finally {
          again.close();
        }
        assertThat(http.get("/api/v1/servers", admin).json().get("items")).hasSize(1);
      } finally {
        component.close();
      }
    }
  }

  static String adminToken(TestHttp http) {
    TestHttp.Response r =
        http.form(
            "/idp/connect/token",
            "grant_type=password&client_id=vigil-cli&username=admin&password="
                + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
                + "&scope="
                + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8),
            Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("access_token").asText();
  }

  static void awaitTrue(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
