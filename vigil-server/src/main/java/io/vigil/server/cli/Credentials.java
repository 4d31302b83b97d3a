package io.vigil.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The refresh tokens {@code vigil login} stored, one per node URL, in {@code credentials.json} in
 * the user's configuration folder: {@code $XDG_CONFIG_HOME/vigil} (when absolute), else {@code
 * ~/.config/vigil}, or {@code %APPDATA%\Vigil} on Windows. The file and its folder are owner-only
 * (600 and 700, or an owner-only ACL), written whole through a temporary file, and a file that
 * others may read is refused: a refresh token signs in as its user for up to 8 hours.
 *
 * <p>Refresh tokens rotate: every command that uses one stores its successor. Two commands that run
 * at once with one token both succeed within the identity provider's reuse grace; a third use of
 * the old token after that revokes the session, and the next command asks for {@code vigil login}.
 */
final class Credentials {

  /** A stored sign-in. */
  record Entry(String refreshToken, String user) {}

  private final Path file;

  Credentials(Path file) {
    this.file = file;
  }

  /** The store in the user's configuration folder. */
  static Credentials of(Map<String, String> env) {
    return new Credentials(
        defaultFile(env, System.getProperty("os.name"), Path.of(System.getProperty("user.home"))));
  }

  static Path defaultFile(Map<String, String> env, String osName, Path userHome) {
    if (osName != null && osName.toLowerCase(Locale.ROOT).startsWith("windows")) {
      String appData = env.get("APPDATA");
      Path base =
          appData == null || appData.isBlank()
              ? userHome.resolve("AppData").resolve("Roaming")
              : Path.of(appData);
      return base.resolve("Vigil").resolve("credentials.json");
    }
    String xdg = env.get("XDG_CONFIG_HOME");
    // The XDG base directory specification says relative values are invalid and must be ignored.
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      return Path.of(xdg, "vigil", "credentials.json");
    }
    return userHome.resolve(".config").resolve("vigil").resolve("credentials.json");
  }

  Path file() {
    return file;
  }

  /** The key of a node: its URL without a trailing slash, scheme and host in lower case. */
  static String key(URI server) {
    String s = server.getScheme().toLowerCase(Locale.ROOT) + "://" + server.getHost();
    s = s.toLowerCase(Locale.ROOT);
    if (server.getPort() >= 0) {
      s += ":" + server.getPort();
    }
    String path = server.getRawPath() == null ? "" : server.getRawPath().replaceAll("/+$", "");
    return s + path;
  }

  Optional<Entry> find(URI server) {
    JsonNode entry = read().path("servers").path(key(server));
    String token = entry.path("refreshToken").asText("");
    return token.isEmpty()
        ? Optional.empty()
        : Optional.of(new Entry(token, entry.path("user").asText(null)));
  }

  void save(URI server, Entry entry) {
    ObjectNode root = read();
    ObjectNode servers =
        root.path("servers") instanceof ObjectNode o ? o : root.putObject("servers");
    ObjectNode e = servers.putObject(key(server));
    e.put("refreshToken", entry.refreshToken());
    if (entry.user() != null) {
      e.put("user", entry.user());
    }
    write(root);
  }

  /** Removes the sign-in for {@code server}; the file goes when it holds none. */
  boolean remove(URI server) {
    ObjectNode root = read();
    if (!(root.path("servers") instanceof ObjectNode servers)
        || servers.remove(key(server)) == null) {
      return false;
    }
    if (servers.isEmpty()) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ex) {
        throw failure("delete", ex);
      }
    } else {
      write(root);
    }
    return true;
  }

  /**
   * The stored sign-in for {@code server} as a command's credential: each use redeems the refresh
   * token and stores its successor.
   */
  ApiClient.Credential credential(URI server, Entry entry) {
    return new ApiClient.Credential() {
      private String refreshToken = entry.refreshToken();

      @Override
      public Map<String, String> grant() {
        return Map.of("grant_type", "refresh_token", "refresh_token", refreshToken);
      }

      @Override
      public String describe() {
        return "Sign-in" + (entry.user() == null ? "" : " as \"" + entry.user() + "\"");
      }

      @Override
      public void issued(JsonNode response) {
        String next = response.path("refresh_token").asText("");
        if (!next.isEmpty() && !next.equals(refreshToken)) {
          refreshToken = next;
          save(server, new Entry(next, entry.user()));
        }
      }

      @Override
      public CliException refused(CliException e) {
        return new CliException(
            ExitCodes.AUTHENTICATION,
            "signed_out",
            "The sign-in stored for "
                + key(server)
                + " is no longer valid ("
                + e.getMessage()
                + "): sign in again with \"vigil login --server "
                + key(server)
                + "\".");
      }

      @Override
      public boolean renewable() {
        return true;
      }
    };
  }

  private ObjectNode read() {
    if (!Files.exists(file)) {
      return Json.MAPPER.createObjectNode();
    }
    if (OwnerOnlyFiles.posix()) {
      try {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.stream().anyMatch(p -> !p.name().startsWith("OWNER_"))) {
          throw new CliException(
              ExitCodes.AUTHENTICATION,
              "credentials_not_private",
              "The stored sign-ins in "
                  + file
                  + " may be read by other accounts, so they are not used: delete the file and"
                  + " sign in again with \"vigil login\".");
        }
      } catch (IOException e) {
        throw failure("read", e);
      }
    }
    try {
      JsonNode root = Json.MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
      return root instanceof ObjectNode o ? o : Json.MAPPER.createObjectNode();
    } catch (IOException e) {
      throw failure("read", e);
    }
  }

  private void write(ObjectNode root) {
    try {
      OwnerOnlyFiles.createDirectories(file.toAbsolutePath().getParent());
      OwnerOnlyFiles.write(
          file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    } catch (IOException e) {
      throw failure("write", e);
    }
  }

  private CliException failure(String verb, IOException e) {
    return new CliException(
        ExitCodes.ERROR,
        "credentials_unavailable",
        "Cannot " + verb + " the stored sign-ins in " + file + ": " + e.getMessage() + ".");
  }
}
