package io.vigil.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code vigil} command's own settings on this machine for this user: {@code cli.json} beside
 * the stored sign-ins ({@link Credentials}), written owner-only through a temporary file. It holds
 * the management server address {@code vigil configure register} set, which the administrative
 * commands use when neither {@code --server} nor {@code VIGIL_SERVER} names a node.
 */
final class CliSettings {

  static final String FILE_NAME = "cli.json";
  private static final String SERVER = "managementServer";

  private final Path file;

  CliSettings(Path file) {
    this.file = file;
  }

  /** The file in the user's configuration folder (the folder of {@code credentials.json}). */
  static CliSettings of(Map<String, String> env) {
    return new CliSettings(Credentials.of(env).file().resolveSibling(FILE_NAME));
  }

  Path file() {
    return file;
  }

  /** The stored management server address; empty when none is stored. */
  Optional<String> server() {
    String value = read().path(SERVER).asText("");
    return value.isBlank() ? Optional.empty() : Optional.of(value);
  }

  /** Stores {@code url} as the management server address, keeping the file's other fields. */
  void server(String url) {
    ObjectNode root = read();
    root.put(SERVER, url);
    try {
      OwnerOnlyFiles.createDirectories(file.toAbsolutePath().getParent());
      OwnerOnlyFiles.write(
          file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "cli_settings_unwritable",
          "Cannot write " + file + ": " + e.getMessage() + ".");
    }
  }

  private ObjectNode read() {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Json.MAPPER.createObjectNode();
    } catch (IOException e) {
      throw unreadable(e.getMessage());
    }
    try {
      JsonNode root = Json.MAPPER.readTree(text);
      if (root instanceof ObjectNode o) {
        return o;
      }
    } catch (JsonProcessingException e) {
      throw unreadable("not JSON: " + e.getOriginalMessage());
    }
    throw unreadable("not a JSON object");
  }

  private CliException unreadable(String why) {
    return new CliException(
        ExitCodes.ERROR,
        "cli_settings_unreadable",
        "Cannot read "
            + file
            + " ("
            + why
            + "): correct or delete it, then set the address again with vigil configure register.");
  }
}
