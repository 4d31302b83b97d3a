package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A load balancer routes on {@code /cluster/active}: it must not answer 200 before the node serves.
 * On a first start the identity provider starts about a second after the client access point (it
 * hashes the admin password), and a token request in that window used to get {@code invalid_client:
 * Client "vigil-cli" is unknown}.
 */
class StartupReadinessIT {

  private static final String PASSWORD = "startup-readiness-admin-password";

  @TempDir Path dir;

  @Test
  void clusterActiveAnswers200OnlyOnceTokensAreIssued() throws Exception {
    try (NodeProcess node =
        NodeProcess.create(
                "start-dev", dir.resolve("data"), Map.of("VIGIL_ADMIN_PASSWORD", PASSWORD))
            .start()) {
      TestHttp http = new TestHttp(node.url(), Duration.ofSeconds(2));
      List<String> wrong = new ArrayList<>();
      int served = 0;
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (served < 3 && System.nanoTime() < deadline) {
        TestHttp.Response active;
        try {
          active = http.get("/cluster/active", null);
        } catch (RuntimeException notListening) {
          Thread.sleep(10);
          continue;
        }
        if (active.status() == 200) {
          TestHttp.Response token =
              http.form(
                  "/idp/connect/token",
                  "grant_type=password&client_id=vigil-cli&username=admin&password="
                      + URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8)
                      + "&scope=openid",
                  Map.of());
          if (token.status() == 200) {
            served++;
          } else {
            wrong.add(token.status() + " " + token.body());
          }
        } else {
          assertThat(active.status()).isEqualTo(503);
        }
        Thread.sleep(10);
      }
      assertThat(wrong).as("token answers while /cluster/active said 200").isEmpty();
      assertThat(served).isEqualTo(3);
    }
  }
}
