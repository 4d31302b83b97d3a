package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listening socket queues a burst of new connections (a thousand components reconnecting after
 * a failover) instead of the JDK's default of 50, beyond which Linux drops the handshakes and
 * clients see connections that break before any answer. Read from {@code ss} on Linux.
 */
class ListenQueueTest {

  @TempDir Path dataDir;
  private EdgeFixture edge;

  @AfterEach
  void stop() {
    if (edge != null) {
      edge.close();
    }
  }

  @Test
  void theListeningSocketQueuesABurstOfAThousandConnections() throws Exception {
    assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/ss")) || Files.isExecutable(Path.of("/bin/ss")));
    long somaxconn;
    // A stream, not Files.readString: files under /proc report a size of 0.
    try (var in = Files.newInputStream(Path.of("/proc/sys/net/core/somaxconn"))) {
      somaxconn = Long.parseLong(new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip());
    }
    edge = new EdgeFixture(dataDir, "");

    long queue = listenQueue(edge.port());

    assertThat(queue)
        .as("the accept queue of the listening socket (Send-Q of ss -lnt)")
        .isEqualTo(Math.min(HttpServer.ACCEPT_QUEUE, somaxconn));
    assertThat(HttpServer.ACCEPT_QUEUE).isGreaterThanOrEqualTo(1000);
  }

  private static long listenQueue(int port) throws IOException, InterruptedException {
    Process ss =
        new ProcessBuilder("ss", "-lntH", "sport = :" + port).redirectErrorStream(true).start();
    String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(ss.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String line = out.strip().lines().findFirst().orElseThrow(() -> new AssertionError(out));
    // State Recv-Q Send-Q Local:Port Peer:Port; for a listening socket Send-Q is the backlog.
    return Long.parseLong(line.trim().split("\\s+")[2]);
  }
}
