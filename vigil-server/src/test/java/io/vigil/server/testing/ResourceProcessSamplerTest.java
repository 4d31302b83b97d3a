package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

@EnabledOnOs(OS.LINUX)
class ResourceProcessSamplerTest {

  @TempDir Path pids;

  private Process daemon(String node, String epoch) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sleep", "30");
    pb.environment().put("VIGIL_NODE", node);
    pb.environment().put("VIGIL_EPOCH", epoch);
    Process p = pb.start();
    Files.writeString(pids.resolve(node + "-" + epoch), Long.toString(p.pid()));
    return p;
  }

  @Test
  void aDaemonOfItsNodeAndEpochCountsAsRunning() throws Exception {
    Process p = daemon("node-1", "7");
    try (ResourceProcessSampler sampler = new ResourceProcessSampler(pids)) {
      assertThat(sampler.runningNow()).containsExactly("node-1-7=" + p.pid());
    } finally {
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aPidFileWhosePidNowBelongsToAnotherProcessDoesNotCount() throws Exception {
    // The daemon ended long ago and its pid went to another process: here, this test's JVM.
    Files.writeString(pids.resolve("node-2-3"), Long.toString(ProcessHandle.current().pid()));
    // Or to another daemon, of another node and epoch.
    Process other = daemon("node-1", "9");
    Files.writeString(pids.resolve("node-3-4"), Long.toString(other.pid()));
    try (ResourceProcessSampler sampler = new ResourceProcessSampler(pids)) {
      assertThat(sampler.runningNow()).containsExactly("node-1-9=" + other.pid());
    } finally {
      other.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }
}
