package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a distribution node must not offer, whatever its environment asks for. */
class DistributionHooksIT {

  @TempDir Path dir;

  /**
   * A request delay hook, once switched on by {@code VIGIL_FAULT_INJECTION=on}, let any
   * unauthenticated request hold a server thread for 60 s.
   */
  @Test
  void aNodeHasNoRequestDelayHookEvenWhenItsEnvironmentAsksForOne() {
    try (NodeProcess node =
        NodeProcess.create(
                "start-dev",
                dir.resolve("data"),
                Map.of(
                    "VIGIL_FAULT_INJECTION",
                    "on",
                    "VIGIL_ADMIN_PASSWORD",
                    "test-hooks-admin-password"))
            .start()) {
      node.awaitReady(Duration.ofSeconds(60));
      TestHttp.Response r =
          new TestHttp(node.url(), Duration.ofSeconds(10))
              .send(
                  "GET", "/api/v1/servers", null, null, Map.of("X-Vigil-Fault-Delay-Ms", "60000"));
      assertThat(r.status()).isEqualTo(401);
    }
  }
}
