package io.vigil.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.config.SettingsLoader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A node's {@code appsettings.json} as a JSON tree, for the commands that change one setting and
 * must keep everything else: unknown sections, key order, number spelling and the file's
 * permissions and owner. Keys are found ignoring case, as the node reads them ({@link
 * SettingsLoader}), so an existing {@code "dataProtectionSettings"} is edited rather than joined by
 * a second spelling.
 *
 * <p>{@link #save} writes a temporary file in the same folder and moves it over the old one, so a
 * node starting meanwhile reads either the old file or the new one, never half of one.
 */
final class AppSettingsFile {

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
          .build();

  private static final DefaultPrettyPrinter PRINTER =
      new DefaultPrettyPrinter(
              Separators.createDefaultInstance()
                  .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
          .withObjectIndenter(new DefaultIndenter("  ", "\n"))
          .withArrayIndenter(new DefaultIndenter("  ", "\n"));

  private final Path file;
  private final ObjectNode root;
  private final boolean exists;

  private AppSettingsFile(Path file, ObjectNode root, boolean exists) {
    this.file = file;
    this.root = root;
    this.exists = exists;
  }

  /** The file in {@code dataDir}; an empty tree when there is none yet. */
  static AppSettingsFile read(Path dataDir) {
    Path file = dataDir.resolve(SettingsLoader.FILE_NAME);
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return new AppSettingsFile(file, MAPPER.createObjectNode(), false);
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR, "settings_unreadable", file + " cannot be read: " + e.getMessage());
    }
    JsonNode tree;
    try {
      tree = text.isBlank() ? MAPPER.createObjectNode() : MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "settings_invalid",
          file
              + " is not valid JSON (line "
              + e.getLocation().getLineNr()
              + ": "
              + e.getOriginalMessage()
              + "); fix it before changing settings with this command.");
    }
    if (!(tree instanceof ObjectNode object)) {
      throw new CliException(
          ExitCodes.ERROR,
          "settings_invalid",
          file + " must hold a JSON object ({ ... }) of sections; fix it first.");
    }
    return new AppSettingsFile(file, object, true);
  }

  Path file() {
    return file;
  }

  boolean exists() {
    return exists;
  }

  /** The text value at {@code path} (keys matched ignoring case); empty when absent or null. */
  Optional<String> text(String... path) {
    JsonNode node = root;
    for (String key : path) {
      node = child(node, key).orElse(null);
      if (node == null) {
        return Optional.empty();
      }
    }
    return node.isValueNode() && !node.isNull() && !node.asText().isBlank()
        ? Optional.of(node.asText())
        : Optional.empty();
  }

  /** The array of texts at {@code path}; empty when absent. */
  List<String> texts(String... path) {
    JsonNode node = root;
    for (String key : path) {
      node = child(node, key).orElse(null);
      if (node == null) {
        return List.of();
      }
    }
    List<String> out = new ArrayList<>();
    if (node.isArray()) {
      for (JsonNode item : node) {
        if (item.isValueNode() && !item.isNull() && !item.asText().isBlank()) {
          out.add(item.asText());
        }
      }
    }
    return out;
  }

  /**
   * The object at {@code path}, created (at the end of its parent) where missing.
   *
   * @throws CliException when a key on the way holds something other than an object
   */
  ObjectNode object(String... path) {
    ObjectNode node = root;
    StringBuilder where = new StringBuilder();
    for (String key : path) {
      where.append(where.isEmpty() ? "" : ".").append(key);
      Optional<Map.Entry<String, JsonNode>> existing = entry(node, key);
      if (existing.isEmpty() || existing.get().getValue().isNull()) {
        String name = existing.map(Map.Entry::getKey).orElse(key);
        node = node.putObject(name);
      } else if (existing.get().getValue() instanceof ObjectNode o) {
        node = o;
      } else {
        throw notA("an object", where);
      }
    }
    return node;
  }

  /** Sets {@code key} of {@code parent} to a text, keeping the key's spelling and position. */
  void put(ObjectNode parent, String key, String value) {
    parent.put(entry(parent, key).map(Map.Entry::getKey).orElse(key), value);
  }

  /** Sets {@code key} of {@code parent} to a boolean, keeping the key's spelling and position. */
  void put(ObjectNode parent, String key, boolean value) {
    parent.put(entry(parent, key).map(Map.Entry::getKey).orElse(key), value);
  }

  /** Sets {@code key} of {@code parent} to null ("not set"), keeping its spelling and position. */
  void putNull(ObjectNode parent, String key) {
    parent.putNull(entry(parent, key).map(Map.Entry::getKey).orElse(key));
  }

  /** The boolean at {@code path} (keys matched ignoring case); empty when absent or not one. */
  Optional<Boolean> bool(String... path) {
    JsonNode node = root;
    for (String key : path) {
      Optional<JsonNode> next = child(node, key);
      if (next.isEmpty()) {
        return Optional.empty();
      }
      node = next.get();
    }
    return node.isBoolean() ? Optional.of(node.booleanValue()) : Optional.empty();
  }

  /**
   * The array {@code key} of {@code parent}, created where missing.
   *
   * @param where the setting's full name, for the message when it is not an array
   */
  ArrayNode array(ObjectNode parent, String key, String where) {
    Optional<Map.Entry<String, JsonNode>> existing = entry(parent, key);
    if (existing.isEmpty() || existing.get().getValue().isNull()) {
      return parent.putArray(existing.map(Map.Entry::getKey).orElse(key));
    }
    if (existing.get().getValue() instanceof ArrayNode a) {
      return a;
    }
    throw notA("an array", where);
  }

  /**
   * Writes the tree back: a temporary file in the same folder with the old file's permissions (and
   * owner, where this account may set it), moved over the old file. A new file is owner-only, since
   * {@code appsettings.json} may hold the database password.
   */
  void save() {
    Path target = file;
    try {
      if (Files.isSymbolicLink(target)) {
        target = target.toRealPath();
      }
      Path dir = target.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
      PosixFileAttributes old =
          posix && Files.exists(target)
              ? Files.readAttributes(target, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
              : null;
      Set<PosixFilePermission> perms =
          old != null
              ? old.permissions()
              : EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      FileAttribute<?>[] attrs =
          posix
              ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(perms)}
              : new FileAttribute<?>[0];
      byte[] bytes =
          (MAPPER.writer(PRINTER).writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
      Path tmp = Files.createTempFile(dir, ".appsettings-", ".tmp", attrs);
      try {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
          ch.write(java.nio.ByteBuffer.wrap(bytes));
          ch.force(true);
        }
        if (old != null) {
          // The umask may have narrowed the permissions given at creation.
          Files.setPosixFilePermissions(tmp, perms);
          keepOwner(tmp, old);
        }
        try {
          Files.move(
              tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "settings_unwritable",
          "Cannot write " + target + " as user " + account() + ": " + e.getMessage());
    }
  }

  /** Gives {@code tmp} the owner and group of the file it replaces, or refuses to replace it. */
  private static void keepOwner(Path tmp, PosixFileAttributes old) throws IOException {
    PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
    PosixFileAttributes now = view.readAttributes();
    UserPrincipal owner = old.owner();
    GroupPrincipal group = old.group();
    try {
      if (!now.owner().equals(owner)) {
        view.setOwner(owner);
      }
      if (!now.group().equals(group)) {
        view.setGroup(group);
      }
    } catch (IOException e) {
      if (!now.owner().equals(owner)) {
        throw new IOException(
            "it belongs to "
                + owner.getName()
                + " and this account cannot hand the new file over; run the command as "
                + owner.getName()
                + " (the node's service account) or as root",
            e);
      }
      // Same owner, other group we are not in: the group is not what lets the node read it.
    }
  }

  private static String account() {
    return System.getProperty("user.name", "?");
  }

  private CliException notA(String kind, CharSequence where) {
    return new CliException(
        ExitCodes.ERROR,
        "settings_invalid",
        where + " in " + file + " is not " + kind + "; fix it (docs/configuration.md) first.");
  }

  private static Optional<JsonNode> child(JsonNode node, String key) {
    return node instanceof ObjectNode o ? entry(o, key).map(Map.Entry::getValue) : Optional.empty();
  }

  private static Optional<Map.Entry<String, JsonNode>> entry(ObjectNode node, String key) {
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      if (e.getKey().equalsIgnoreCase(key)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }
}
