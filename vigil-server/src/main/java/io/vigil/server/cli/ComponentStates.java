package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Where reference components keep their registration: one file per component, {@code <name>.json},
 * with its OAuth client id and secret and its server's id, in an owner-only folder (700, files 600,
 * or owner-only ACLs), so that a restarted component reuses its client and server instead of
 * registering again. A file that others may read is refused, since its secret signs in as the
 * component. The default folder is {@code $XDG_DATA_HOME/vigil/components} (when absolute), else
 * {@code ~/.local/share/vigil/components}, or {@code %LOCALAPPDATA%\Vigil\components} on Windows.
 */
final class ComponentStates {

  /** A component's registration. */
  record State(String clientId, String clientSecret, UUID serverId) {
    /** Never shows the secret. */
    @Override
    public String toString() {
      return "State[clientId=" + clientId + ", serverId=" + serverId + "]";
    }
  }

  private final Path dir;

  ComponentStates(Path dir) {
    this.dir = dir;
  }

  Path dir() {
    return dir;
  }

  static Path defaultDir(Map<String, String> env, String osName, Path userHome) {
    if (osName != null && osName.toLowerCase(Locale.ROOT).startsWith("windows")) {
      String local = env.get("LOCALAPPDATA");
      Path base =
          local == null || local.isBlank()
              ? userHome.resolve("AppData").resolve("Local")
              : Path.of(local);
      return base.resolve("Vigil").resolve("components");
    }
    String xdg = env.get("XDG_DATA_HOME");
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg, "vigil", "components");
    }
    return userHome.resolve(".local").resolve("share").resolve("vigil").resolve("components");
  }

  Path file(String name) {
    return dir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".json");
  }

  /** The stored registration of {@code name}, if any. */
  Optional<State> load(String name) {
    Path file = file(name);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      if (OwnerOnlyFiles.posix()) {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.stream()
            .anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
          throw new CliException(
              ExitCodes.ERROR,
              "state_not_private",
              file
                  + " may be read by other users; it holds the component's client secret. Make it"
                  + " owner-only (chmod 600) or delete it to register again.");
        }
      }
      JsonNode root = Json.MAPPER.readTree(Files.readAllBytes(file));
      String clientId = root.path("clientId").asText(null);
      String secret = root.path("clientSecret").asText(null);
      String server = root.path("serverId").asText(null);
      if (clientId == null || secret == null || server == null) {
        throw new IOException("a field is missing");
      }
      return Optional.of(new State(clientId, secret, UUID.fromString(server)));
    } catch (IOException | IllegalArgumentException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "state_unreadable",
          "Cannot read the component state "
              + file
              + " ("
              + e.getMessage()
              + "); delete it to"
              + " register again.");
    }
  }

  /** Stores {@code state} owner-only, replacing any earlier one. */
  void save(String name, State state) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("clientId", state.clientId());
    root.put("clientSecret", state.clientSecret());
    root.put("serverId", state.serverId().toString());
    try {
      OwnerOnlyFiles.createDirectories(dir);
      OwnerOnlyFiles.write(file(name), Json.MAPPER.writeValueAsBytes(root));
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "state_not_saved",
          "Cannot store the component's registration in " + dir + ": " + e.getMessage());
    }
  }
}
