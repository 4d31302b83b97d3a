package io.vigil.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vigil.server.http.Text;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * {@code appsettings.json} from fuzzed bytes: the loader either returns settings a node can run
 * with or throws a {@link ConfigException} with a message; nothing else comes out of it.
 */
@Tag("jazzer")
class SettingsLoaderFuzzTest {

  private static Path dataDir;

  @BeforeAll
  static void createDataDirectory() throws IOException {
    dataDir = Files.createTempDirectory("vigil-settings-fuzz-");
  }

  @AfterAll
  static void deleteDataDirectory() throws IOException {
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(SettingsLoaderFuzzTest::delete);
    }
  }

  private static void delete(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest(maxDuration = "60s")
  void appSettings(byte[] file) throws IOException {
    Files.write(dataDir.resolve(SettingsLoader.FILE_NAME), file);
    Settings settings;
    try {
      settings = SettingsLoader.load(dataDir, Map.of(), SettingsLoader.Overrides.none());
    } catch (ConfigException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    assertThat(settings.dataDir).isEqualTo(dataDir.toAbsolutePath().normalize());
    assertThat(settings.http).isNotNull();
    assertThat(settings.http.tls).isNotNull();
    assertThat(settings.cluster).isNotNull();
    assertThat(settings.database).isNotNull();
    assertThat(settings.dataProtection).isNotNull();
    assertThat(settings.identity).isNotNull();
    assertThat(settings.node).as(Text.excerpt(new String(file))).isNotNull();
  }
}
