package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import io.vigil.server.testing.ClusterFixture;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vigil configure register} on a real node (a process of the distribution on PostgreSQL):
 * the cluster's maintenance is on while the components change and off after, also when the
 * registration fails, and maintenance an operator turned on stays on. The CLI runs in-process with
 * one more component besides the node's own, a probe that looks at the cluster's maintenance
 * through the API, independently of the configurator, at the moment it is registered.
 */
class ConfigureIT {

  @TempDir Path dir;

  /** A component that records, when registered, whether the cluster was in maintenance. */
  static final class Probe implements InstalledComponent {
    final List<Boolean> maintenanceWhenRegistered = new ArrayList<>();
    final NodeProcess node;
    String address;

    Probe(NodeProcess node) {
      this.node = node;
    }

    @Override
    public String kind() {
      return "probe";
    }

    @Override
    public String location() {
      return "test probe";
    }

    @Override
    public Optional<String> address() {
      return Optional.ofNullable(address);
    }

    @Override
    public void setAddress(URI url) {
      address = url.toString();
    }

    @Override
    public void register(URI url, ApiClient api) {
      maintenanceWhenRegistered.add(maintenance(node));
    }
  }

  record Result(int exit, String out, String err) {}

  Result configure(Probe probe, Map<String, String> env, String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    Map<String, String> all = new HashMap<>(env);
    all.put("XDG_CONFIG_HOME", dir.resolve("config").toString());
    Terminal terminal =
        new Terminal(
            Map.copyOf(all),
            new PrintWriter(o, true),
            new PrintWriter(e, true),
            new ByteArrayInputStream(new byte[0]),
            null);
    ConfigureCommand.Components components =
        (dataDir, t) -> {
          List<InstalledComponent> found = new ArrayList<>();
          found.add(probe);
          found.addAll(ConfigureCommand.INSTALLED.find(dataDir, t));
          return found;
        };
    String[] command = new String[args.length + 1];
    command[0] = "configure";
    System.arraycopy(args, 0, command, 1, args.length);
    int exit = Main.commandLine(terminal, components).execute(command);
    return new Result(exit, o.toString(), e.toString());
  }

  static String token(NodeProcess node) {
    TestHttp.Response r =
        new TestHttp(node.url())
            .form(
                "/idp/connect/token",
                "grant_type=password&client_id=vigil-cli&username=admin&password="
                    + URLEncoder.encode(ClusterFixture.ADMIN_PASSWORD, StandardCharsets.UTF_8)
                    + "&scope="
                    + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8),
                Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json().get("access_token").asText();
  }

  static JsonNode cluster(NodeProcess node) {
    TestHttp.Response r = new TestHttp(node.url()).get("/api/v1/cluster", token(node));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  static boolean maintenance(NodeProcess node) {
    return cluster(node).path("maintenance").asBoolean();
  }

  /** The maintenance events of the history, oldest first. */
  static List<String> maintenanceHistory(NodeProcess node) {
    JsonNode history =
        new TestHttp(node.url()).get("/api/v1/cluster/history?limit=500", token(node)).json();
    List<String> events = new ArrayList<>();
    for (JsonNode entry : history.path("items")) {
      String event = entry.path("event").asText();
      if (event.startsWith("maintenance_")) {
        events.add(0, event);
      }
    }
    return events;
  }

  @Test
  void registerOnANodeRunsInMaintenanceAndEndsItAlsoWhenTheRegistrationFails() throws Exception {
    try (ClusterFixture fixture = new ClusterFixture(dir).appsettings("{}\n").start(1)) {
      NodeProcess node = fixture.awaitActive(Duration.ofSeconds(60));
      Path dataDir = dir.resolve(ClusterFixture.name(1));
      Path appsettings = dataDir.resolve("appsettings.json");
      assertThat(appsettings).exists();
      Map<String, String> admin =
          Map.of(
              "VIGIL_PASSWORD",
              ClusterFixture.ADMIN_PASSWORD,
              "VIGIL_DATA_DIR",
              dataDir.toString());
      String url = node.url();

      // Success: maintenance on while the components change, off after.
      Probe probe = new Probe(node);
      Result ok = configure(probe, admin, "register", "--management-server", url);
      assertThat(ok.exit()).as(ok.err()).isEqualTo(ExitCodes.OK);
      assertThat(probe.maintenanceWhenRegistered).containsExactly(true);
      assertThat(maintenance(node)).isFalse();
      assertThat(maintenanceHistory(node)).containsExactly("maintenance_on", "maintenance_off");
      assertThat(
              Json.MAPPER
                  .readTree(Files.readString(appsettings))
                  .path("Identity")
                  .path("Issuer")
                  .asText())
          .isEqualTo(url + "/idp");
      JsonNode site = new TestHttp(url).get("/api/v1/site", token(node)).json();
      assertThat(site.path("managementServerAddress").asText()).isEqualTo(url);

      // The registration fails after maintenance went on (the node's settings file is damaged):
      // maintenance is still turned off.
      Probe failing = new Probe(node);
      Files.writeString(appsettings, "{ damaged");
      Result failed = configure(failing, admin, "register", "--management-server", url);
      Files.writeString(appsettings, "{}\n");
      assertThat(failed.exit()).as(failed.out()).isEqualTo(ExitCodes.ERROR);
      assertThat(failed.err()).contains("settings_invalid");
      assertThat(failing.maintenanceWhenRegistered).containsExactly(true);
      assertThat(maintenance(node)).isFalse();
      assertThat(maintenanceHistory(node))
          .containsExactly(
              "maintenance_on", "maintenance_off", "maintenance_on", "maintenance_off");

      // Maintenance an operator turned on stays on.
      assertThat(
              new TestHttp(url)
                  .send(
                      "PUT",
                      "/api/v1/cluster/maintenance",
                      token(node),
                      "{\"enabled\":true}",
                      Map.of())
                  .status())
          .isEqualTo(204);
      Probe during = new Probe(node);
      Result kept = configure(during, admin, "register", "--management-server", url, "--quiet");
      assertThat(kept.exit()).as(kept.err()).isEqualTo(ExitCodes.OK);
      assertThat(kept.out()).isEmpty();
      assertThat(during.maintenanceWhenRegistered).containsExactly(true);
      assertThat(maintenance(node)).isTrue();
      new TestHttp(url)
          .send("PUT", "/api/v1/cluster/maintenance", token(node), "{\"enabled\":false}", Map.of());
      int events = maintenanceHistory(node).size();

      // Bad arguments, another instance, an unreachable server, an invalid certificate.
      assertThat(
              configure(new Probe(node), admin, "register", "--management-server", "ftp://x")
                  .exit())
          .isEqualTo(ExitCodes.USAGE);
      try (ConfigureLock held = ConfigureLock.acquire(dataDir)) {
        Result busy = configure(new Probe(node), admin, "register", "--management-server", url);
        assertThat(busy.exit()).isEqualTo(ExitCodes.ALREADY_RUNNING);
        assertThat(held).isNotNull();
      }
      Result away =
          configure(
              new Probe(node),
              admin,
              "register",
              "--management-server",
              "http://127.0.0.1:" + NodeProcess.freePort());
      assertThat(away.exit()).as(away.err()).isEqualTo(ExitCodes.UNREACHABLE);
      Result certificate =
          configure(new Probe(node), admin, "encryption", "--thumbprint", "00".repeat(20));
      assertThat(certificate.exit()).as(certificate.err()).isEqualTo(ExitCodes.INVALID_CERTIFICATE);

      // A wrong password: authentication fails before anything changes; maintenance stays off.
      Probe refused = new Probe(node);
      Result denied =
          configure(
              refused,
              Map.of("VIGIL_PASSWORD", "wrong-password", "VIGIL_DATA_DIR", dataDir.toString()),
              "register",
              "--management-server",
              url);
      assertThat(denied.exit()).as(denied.err()).isEqualTo(ExitCodes.AUTHENTICATION);
      assertThat(denied.err()).doesNotContain("wrong-password");
      assertThat(refused.maintenanceWhenRegistered).isEmpty();
      assertThat(maintenance(node)).isFalse();
      assertThat(maintenanceHistory(node)).hasSize(events);
    }
  }
}
