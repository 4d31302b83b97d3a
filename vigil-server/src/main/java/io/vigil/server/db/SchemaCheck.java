package io.vigil.server.db;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.sql.DataSource;

/**
 * Whether a database's schema is exactly at the migrations this build ships, so that a start can
 * leave Flyway out: loading Flyway, scanning the class path and validating every migration costs a
 * few hundred milliseconds of every start, and on a current schema it changes nothing.
 *
 * <p>The schema is current when Flyway's history table lists, as successful SQL migrations, exactly
 * the versioned migrations under {@code db/migration} with the checksums Flyway computes for them
 * (CRC32 of each line's UTF-8 bytes, without line ends and byte order mark). Anything else — no
 * history table, a migration missing (behind) or unknown (ahead), a failed one, an edited one, a
 * file Flyway would reject or resources this check cannot list — answers "not current", and Flyway
 * then runs and reports as it always does.
 */
final class SchemaCheck {

  static final String LOCATION = "db/migration";

  /** Flyway's versioned SQL migration names: V, a version, two underscores, a description. */
  private static final Pattern VERSIONED = Pattern.compile("V[0-9]+(?:[._][0-9]+)*__[^/]+\\.sql");

  private static final String HISTORY =
      "SELECT \"script\", \"checksum\", \"type\", \"success\" FROM \"flyway_schema_history\"";

  private SchemaCheck() {}

  /** True when the schema is current and Flyway has nothing to do; false in every other case. */
  static boolean isCurrent(DataSource dataSource, ClassLoader loader) {
    Map<String, Integer> bundled = bundled(loader);
    if (bundled == null || bundled.isEmpty()) {
      return false;
    }
    Map<String, Integer> applied = new HashMap<>();
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(HISTORY)) {
      while (rs.next()) {
        String script = rs.getString(1);
        int checksum = rs.getInt(2);
        boolean noChecksum = rs.wasNull();
        String type = rs.getString(3);
        boolean success = rs.getBoolean(4);
        if (!success) {
          return false;
        }
        if ("TABLE".equals(type) || "SCHEMA".equals(type)) {
          // Flyway's markers of the history table and of a schema it created: no migrations.
          continue;
        }
        if (!"SQL".equals(type) || noChecksum || applied.put(script, checksum) != null) {
          return false;
        }
      }
    } catch (SQLException e) {
      // No history table (a new database), or no connection: Flyway reports it the usual way.
      return false;
    }
    return applied.equals(bundled);
  }

  /**
   * The versioned SQL migrations under {@link #LOCATION} on the class path, by file name, with
   * Flyway's checksum; null when a resource there is not one (Flyway decides about it) or the class
   * path entry cannot be listed.
   */
  static Map<String, Integer> bundled(ClassLoader loader) {
    try {
      Map<String, Integer> migrations = new HashMap<>();
      Enumeration<URL> roots = loader.getResources(LOCATION);
      for (URL root : Collections.list(roots)) {
        List<String> names = list(root);
        if (names == null) {
          return null;
        }
        for (String name : names) {
          if (!VERSIONED.matcher(name).matches()) {
            return null;
          }
          Integer checksum;
          try (InputStream in = loader.getResourceAsStream(LOCATION + "/" + name)) {
            if (in == null) {
              return null;
            }
            checksum = checksum(in);
          }
          if (migrations.put(name, checksum) != null) {
            return null;
          }
        }
      }
      return migrations;
    } catch (IOException | URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The names of the resources below ROOT, relative to it (a subfolder's as "dir/name"); null for a
   * class path entry other than a folder or a jar.
   */
  private static List<String> list(URL root) throws IOException, URISyntaxException {
    List<String> names = new ArrayList<>();
    switch (root.getProtocol()) {
      case "file" -> {
        Path dir = Path.of(root.toURI());
        try (Stream<Path> files = Files.walk(dir)) {
          files
              .filter(Files::isRegularFile)
              .forEach(p -> names.add(dir.relativize(p).toString().replace('\\', '/')));
        }
      }
      case "jar" -> {
        URLConnection connection = root.openConnection();
        if (!(connection instanceof JarURLConnection jar)) {
          return null;
        }
        // A JarFile of its own, closed after: the class loader keeps one open already.
        jar.setUseCaches(false);
        String prefix = LOCATION + "/";
        try (JarFile file = jar.getJarFile()) {
          for (JarEntry entry : Collections.list(file.entries())) {
            String name = entry.getName();
            if (!entry.isDirectory() && name.startsWith(prefix)) {
              names.add(name.substring(prefix.length()));
            }
          }
        }
      }
      default -> {
        return null;
      }
    }
    return names;
  }

  /** Flyway's checksum of a SQL migration: CRC32 over each line's UTF-8 bytes, BOM removed. */
  static int checksum(InputStream in) throws IOException {
    CRC32 crc = new CRC32();
    BufferedReader reader =
        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 4096);
    String line;
    while ((line = reader.readLine()) != null) {
      if (line.startsWith("\uFEFF")) {
        line = line.substring(1);
      }
      crc.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return (int) crc.getValue();
  }
}
