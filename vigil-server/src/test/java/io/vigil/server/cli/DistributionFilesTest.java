package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.http.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files shipped beside the code must agree with it. */
class DistributionFilesTest {

  static final Path EXAMPLE = Path.of("src/dist/conf/appsettings.example.json");

  @TempDir Path dir;

  @Test
  void exampleSettingsFileLoadsAndHoldsExactlyTheDefaults() throws Exception {
    Files.copy(EXAMPLE, dir.resolve(SettingsLoader.FILE_NAME));

    Settings loaded = SettingsLoader.load(dir, Map.of(), SettingsLoader.Overrides.none());

    JsonNode expected = Json.MAPPER.valueToTree(new Settings());
    JsonNode actual = Json.MAPPER.valueToTree(loaded);
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  void exampleSettingsFileNamesEverySetting() throws Exception {
    JsonNode example = Json.MAPPER.readTree(EXAMPLE.toFile());
    JsonNode defaults = Json.MAPPER.valueToTree(new Settings());

    assertThat(fieldPaths(example, "")).isEqualTo(fieldPaths(defaults, ""));
  }

  @Test
  void configurationDocumentMentionsEverySetting() throws Exception {
    String doc = Files.readString(Path.of("../docs/configuration.md"));
    for (String path : fieldPaths(Json.MAPPER.valueToTree(new Settings()), "")) {
      assertThat(doc).as("docs/configuration.md documents %s", path).contains("`" + path + "`");
    }
  }

  private static java.util.SortedSet<String> fieldPaths(JsonNode node, String prefix) {
    java.util.SortedSet<String> paths = new java.util.TreeSet<>();
    node.properties()
        .forEach(
            e -> {
              String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
              if (e.getValue().isObject()) {
                paths.addAll(fieldPaths(e.getValue(), path));
              } else {
                paths.add(path);
              }
            });
    return paths;
  }
}
