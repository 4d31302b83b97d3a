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
import java.time.Instant;
import java.util.Optional;

/**
 * What {@code vigil configure register} last registered on this machine: {@code configure.json} in
 * the configurator's state folder (owner-only), one entry per component (kind and configuration
 * file) with the address it was registered with and when. A component counts as registered while
 * the address it uses is the one it was registered with.
 */
final class ConfigureState {

  static final String FILE_NAME = "configure.json";

  /** One component's registration. */
  record Registration(String address, Instant at) {}

  private final Path file;

  ConfigureState(Path dir) {
    this.file = dir.resolve(FILE_NAME);
  }

  Path file() {
    return file;
  }

  Optional<Registration> registration(InstalledComponent component) {
    JsonNode entry = read().path("components").path(key(component));
    String address = entry.path("address").asText("");
    if (address.isEmpty()) {
      return Optional.empty();
    }
    Instant at;
    try {
      at = Instant.parse(entry.path("registeredAt").asText(""));
    } catch (java.time.format.DateTimeParseException e) {
      return Optional.empty();
    }
    return Optional.of(new Registration(address, at));
  }

  /** Whether {@code component} is registered with the address it uses now. */
  boolean registered(InstalledComponent component) {
    Optional<String> address = component.address();
    return address.isPresent()
        && registration(component).map(r -> r.address().equals(address.get())).orElse(false);
  }

  void recordRegistered(InstalledComponent component, String address, Instant at) {
    ObjectNode root = read();
    ObjectNode components =
        root.path("components") instanceof ObjectNode o ? o : root.putObject("components");
    ObjectNode entry = components.putObject(key(component));
    entry.put("address", address);
    entry.put("registeredAt", at.toString());
    try {
      OwnerOnlyFiles.createDirectories(file.toAbsolutePath().getParent());
      OwnerOnlyFiles.write(
          file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "state_unwritable",
          "Registered, but cannot record it in " + file + ": " + e.getMessage() + ".");
    }
  }

  private static String key(InstalledComponent component) {
    return component.kind() + " " + component.location();
  }

  private ObjectNode read() {
    try {
      JsonNode root = Json.MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
      return root instanceof ObjectNode o ? o : Json.MAPPER.createObjectNode();
    } catch (NoSuchFileException e) {
      return Json.MAPPER.createObjectNode();
    } catch (JsonProcessingException e) {
      // A damaged record only loses the "registered" marks; the next registration rewrites it.
      return Json.MAPPER.createObjectNode();
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR, "state_unreadable", "Cannot read " + file + ": " + e.getMessage() + ".");
    }
  }
}
