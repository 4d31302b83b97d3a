package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestHttp;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two node processes as two machines: each has its own machine key file and its own certificate
 * store, on one real PostgreSQL. With the machine protector the second node cannot read the key
 * ring: it stays up, says why, is reported by {@code vigil cluster validate} and never takes the
 * role. With one certificate on both, a kill -9 failover needs no secret re-entered; switching the
 * first node from its machine key to the certificate re-wraps the ring, which makes the second node
 * eligible without a restart.
 */
class CertificateClusterIT {

  private static final String ADMIN_PASSWORD = "certificate-cluster-admin-password";

  private static TestCertificates.Issued ca;
  private static TestCertificates.Issued cert;

  @TempDir Path dir;
  private final List<NodeProcess> nodes = new ArrayList<>();
  private String databaseUrl;

  @BeforeAll
  static void certificates() {
    ca = TestCertificates.ca("Vigil Cluster Test Root");
    cert =
        TestCertificates.builder("vigil-cluster-data-protection")
            .issuedBy(ca)
            .validUntil(Instant.now().plus(java.time.Duration.ofDays(365)))
            .build();
  }

  @AfterEach
  void stopNodes() {
    nodes.forEach(NodeProcess::kill);
  }

  private NodeProcess node(String name, boolean withCertificate) throws IOException {
    if (databaseUrl == null) {
      databaseUrl = TestDatabases.postgresUrl();
    }
    Path data = dir.resolve(name);
    Files.createDirectories(data);
    if (withCertificate) {
      configureCertificate(data, "pw-" + name);
    }
    int port = NodeProcess.freePort();
    Map<String, String> env = new HashMap<>();
    env.put("VIGIL_NODE_NAME", name);
    env.put("VIGIL_DB_URL", databaseUrl);
    env.put("VIGIL_DB_USER", "postgres");
    env.put("VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD);
    env.put("VIGIL_ADVERTISED_URL", "http://127.0.0.1:" + port);
    env.put("VIGIL_HTTP_ALLOW_PLAIN", "true");
    // NodeProcess gives every data directory a machine key file of its own: two machines.
    NodeProcess node = NodeProcess.create("node", data, port, env);
    nodes.add(node);
    return node;
  }

  /** Imports the cluster certificate into this machine's store and selects it, as an operator. */
  private static void configureCertificate(Path data, String password) throws IOException {
    FileCertificateStore store = new FileCertificateStore(FileCertificateStore.defaultRoot(data));
    TestCertificates.writePkcs12(store.personal(), "data-protection", cert, password);
    TestCertificates.writeTrusted(
        store.trusted(), Thumbprint.of(ca.certificate()).hex(), ca.certificate());
    Files.writeString(
        data.resolve("appsettings.json"),
        """
        {"DataProtectionSettings": {"ProtectKeysWithCertificate": {"Thumbprint": "%s"}}}
        """
            .formatted(cert.thumbprint().hex().toLowerCase().replaceAll("(..)(?!$)", "$1 ")));
  }

  @Test
  void machineKeysOnTwoMachinesAreNamedBeforeTheFailoverAndSwitchingToACertificateFixesThem()
      throws Exception {
    NodeProcess one = node("node-1", false).start().awaitReady(Duration.ofSeconds(90));
    String token = token(one);
    String secret = createClient(one, token, "rs1");
    // A secret Vigil reads back (client secrets are only hashed, and need no key).
    createHardware(one, token, "cam-1");

    // The second machine has the certificate, but the ring is wrapped by node-1's machine key.
    NodeProcess two = node("node-2", true).start().awaitLive(Duration.ofSeconds(90));
    TestHttp.Response ready = await(() -> get(two, "/health/ready", null), r -> r.status() == 503);
    assertThat(ready.json().get("code").asText()).isEqualTo("not_eligible");
    assertThat(ready.json().get("reason").asText())
        .contains("cannot unwrap")
        .contains("wrapped by machine:")
        .contains("vigil protect use --thumbprint")
        .contains("password of hardware cam-1");

    JsonNode validation = get(one, "/api/v1/cluster/validation", token).json();
    JsonNode second = byNode(validation, "node-2");
    assertThat(second.get("eligible").asBoolean()).isFalse();
    assertThat(second.get("report").get("problemCode").asText()).isEqualTo("keys_not_unwrappable");
    assertThat(second.get("failoverWouldBreak").toString()).contains("password of hardware cam-1");
    assertThat(byNode(validation, "node-1").get("eligible").asBoolean()).isTrue();

    Cli validate = cli(one, "cluster", "validate");
    assertThat(validate.exit).as(validate.out).isEqualTo(1);
    assertThat(validate.out)
        .contains("node-2")
        .contains("ineligible")
        .contains("a failover here would break")
        .contains("Not every live node can take the role");

    JsonNode status = get(one, "/api/v1/cluster", token).json();
    assertThat(byName(status.get("nodes"), "node-2").get("state").asText()).isEqualTo("ineligible");
    assertThat(get(one, "/api/v1/cluster/history?limit=500", token).body())
        .contains("\"event\":\"ineligible\"");

    // A kill -9 of the only eligible node: the second never takes the role.
    one.kill();
    long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
    while (System.nanoTime() < until) {
      assertThat(get(two, "/cluster/active", null).status()).isEqualTo(503);
      Thread.sleep(200);
    }
    assertThat(two.isAlive()).isTrue();
    assertThat(count(two.logText(), "cannot unwrap 1 data protection key")).isEqualTo(1);

    // The operator's fix: the certificate on node-1 too; at start it re-wraps the ring.
    configureCertificate(dir.resolve("node-1"), "another-password");
    one.start().awaitReady(Duration.ofSeconds(90));
    assertThat(one.logText()).contains("Re-wrapped data protection key");
    // node-2 becomes eligible without a restart, at its next check. The role is free meanwhile,
    // so either node may take it: node-2 at that check, or node-1 once it has started.
    await(() -> get(two, "/health/ready", null), r -> r.status() == 200);
    await(
        () -> get(one, "/cluster/active", null),
        r -> r.status() == 200 || get(two, "/cluster/active", null).status() == 200);
    NodeProcess active = get(one, "/cluster/active", null).status() == 200 ? one : two;
    NodeProcess other = active == one ? two : one;
    String token2 = token(active);
    assertThat(
            byNode(get(active, "/api/v1/cluster/validation", token2).json(), "node-2")
                .get("eligible")
                .asBoolean())
        .isTrue();
    assertThat(cli(active, "cluster", "validate").exit).isZero();

    active.kill();
    await(() -> get(other, "/cluster/active", null), r -> r.status() == 200);
    // No secret re-entered: the token from before still works, and so does the client secret.
    TestHttp.Response servers =
        await(() -> get(other, "/api/v1/servers", token2), r -> r.status() == 200);
    assertThat(servers.status()).isEqualTo(200);
    assertThat(clientCredentials(other, "rs1", secret).status()).isEqualTo(200);
  }

  @Test
  void oneCertificateOnTwoMachinesFailsOverWithNoSecretReentered() throws Exception {
    NodeProcess one = node("node-1", true).start().awaitReady(Duration.ofSeconds(90));
    String token = token(one);
    String secret = createClient(one, token, "rs2");
    NodeProcess two = node("node-2", true).start().awaitReady(Duration.ofSeconds(90));

    Cli validate = cli(one, "cluster", "validate");
    assertThat(validate.exit).as(validate.out).isZero();
    assertThat(validate.out).contains("data-protection certificate " + cert.thumbprint().hex());
    assertThat(get(two, "/metrics", null).body())
        .contains("vigil_node_eligible 1.0")
        .containsPattern(
            "vigil_certificate_expiry_days\\{thumbprint=\""
                + cert.thumbprint().hex()
                + "\",use=\"data-protection\"} 36[45]\\.0");

    one.kill();
    await(() -> get(two, "/cluster/active", null), r -> r.status() == 200);
    assertThat(await(() -> get(two, "/api/v1/servers", token), r -> r.status() == 200).status())
        .isEqualTo(200);
    assertThat(clientCredentials(two, "rs2", secret).status()).isEqualTo(200);
  }

  // ---- helpers

  private static String token(NodeProcess node) {
    TestHttp.Response r =
        await(
            () ->
                new TestHttp(node.url())
                    .form(
                        "/idp/connect/token",
                        "grant_type=password&client_id=vigil-cli&username=admin&password="
                            + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
                            + "&scope="
                            + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8),
                        Map.of()),
            x -> x.status() == 200);
    return r.json().get("access_token").asText();
  }

  private static String createClient(NodeProcess node, String token, String id) {
    TestHttp.Response r =
        new TestHttp(node.url())
            .send(
                "POST",
                "/api/v1/clients",
                token,
                "{\"clientId\":\"" + id + "\",\"roles\":[\"component\"]}",
                Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json().get("clientSecret").asText();
  }

  private static void createHardware(NodeProcess node, String token, String name) {
    TestHttp http = new TestHttp(node.url());
    TestHttp.Response server =
        http.send(
            "POST",
            "/api/v1/servers",
            token,
            "{\"name\":\"rec-for-"
                + name
                + "\",\"type\":\"recording-server\",\"address\":\"http://rec.local:7563\"}",
            Map.of());
    assertThat(server.status()).as(server.body()).isEqualTo(201);
    TestHttp.Response hardware =
        http.send(
            "POST",
            "/api/v1/hardware",
            token,
            "{\"name\":\""
                + name
                + "\",\"recordingServerId\":\""
                + server.json().get("id").asText()
                + "\",\"address\":\"rtsp://10.9.9.9\",\"password\":\"device-password\"}",
            Map.of());
    assertThat(hardware.status()).as(hardware.body()).isEqualTo(201);
  }

  private static TestHttp.Response clientCredentials(NodeProcess node, String id, String secret) {
    return new TestHttp(node.url())
        .form(
            "/idp/connect/token",
            "grant_type=client_credentials&client_id="
                + id
                + "&client_secret="
                + URLEncoder.encode(secret, StandardCharsets.UTF_8),
            Map.of());
  }

  private static TestHttp.Response get(NodeProcess node, String path, String token) {
    return new TestHttp(node.url(), Duration.ofSeconds(2)).get(path, token);
  }

  private static TestHttp.Response await(
      Supplier<TestHttp.Response> call, java.util.function.Predicate<TestHttp.Response> done) {
    long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
    TestHttp.Response last = null;
    while (System.nanoTime() < deadline) {
      try {
        last = call.get();
        if (done.test(last)) {
          return last;
        }
      } catch (RuntimeException e) {
        // not answering yet
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new AssertionError(
        "condition not met in 40 s; last answer: "
            + (last == null ? "none" : last.status() + " " + last.body()));
  }

  private static JsonNode byNode(JsonNode validation, String node) {
    for (JsonNode n : validation.get("items")) {
      if (n.get("node").asText().equals(node)) {
        return n;
      }
    }
    throw new AssertionError("no " + node + " in " + validation);
  }

  private static JsonNode byName(JsonNode nodes, String name) {
    for (JsonNode n : nodes) {
      if (n.get("name").asText().equals(name)) {
        return n;
      }
    }
    throw new AssertionError("no " + name + " in " + nodes);
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  private record Cli(int exit, String out) {}

  private Cli cli(NodeProcess node, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(NodeProcess.distribution().resolve("bin").resolve("vigil").toString());
    command.addAll(List.of(args));
    command.add("--server");
    command.add(node.url());
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("VIGIL_PASSWORD", ADMIN_PASSWORD);
    pb.environment().put("VIGIL_CACHE", "off");
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Cli(p.exitValue(), out);
  }
}
