package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vigil.server.testing.NodeProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's start-up cache (an AOT cache on JDK 25 and newer) as an installation gets it: made
 * once by a training run, then used; and never a reason for a command not to run.
 */
class LauncherCacheIT {

  @TempDir Path cache;

  record Run(int exit, String output) {}

  private Run vigil(String javaOpts, String... args) throws IOException, InterruptedException {
    List<String> command =
        Stream.concat(
                Stream.of(NodeProcess.distribution().resolve("bin").resolve("vigil").toString()),
                Stream.of(args))
            .toList();
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("XDG_CACHE_HOME", cache.toString());
    pb.environment().remove("VIGIL_CACHE");
    pb.environment().remove("JAVA_OPTS");
    pb.environment().put("VIGIL_JAVA_OPTS", javaOpts);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(out).isTrue();
    return new Run(p.exitValue(), out);
  }

  private List<String> cacheFiles() throws IOException {
    Path dir = cache.resolve("vigil");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theFirstCommandMakesTheCacheAndTheNextOnesUseIt() throws Exception {
    assumeTrue(Runtime.version().feature() >= 25, "the AOT cache needs JDK 25");

    Run first = vigil("", "--version");
    assertThat(first.exit()).as(first.output()).isZero();
    assertThat(first.output()).contains("Vigil ").contains("preparing the start-up cache");
    assertThat(cacheFiles()).singleElement().asString().endsWith(".aot");

    Run second = vigil("", "--version");
    assertThat(second.exit()).as(second.output()).isZero();
    assertThat(second.output()).contains("Vigil ").doesNotContain("start-up cache");
  }

  @Test
  void aCacheTheJvmCannotLoadWithTheGivenFlagsIsSetAsideAndTheCommandRunsWithoutIt()
      throws Exception {
    assumeTrue(Runtime.version().feature() >= 25, "the AOT cache needs JDK 25");
    // A young generation as large as the initial heap leaves no old generation for the cache's
    // archived objects: a JVM given such a cache refuses to start.
    String flags = "-Xmn32m";

    Run first = vigil(flags, "--version");
    assertThat(first.exit()).as(first.output()).isZero();
    assertThat(first.output()).contains("Vigil ").contains("starting without it");
    assertThat(cacheFiles())
        .noneMatch(f -> f.endsWith(".aot"))
        .anyMatch(f -> f.endsWith(".failed"));

    Run second = vigil(flags, "--version");
    assertThat(second.exit()).as(second.output()).isZero();
    assertThat(second.output()).contains("Vigil ").doesNotContain("start-up cache");
  }
}
