package io.vigil.server.node;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.OwnerOnlyFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The node's data directory: its certificate store, {@code appsettings.json}, the embedded database
 * if used, and the working directory of generic resources. Made sure of before anything else at
 * start, whatever the database.
 */
final class DataDirectory {

  private DataDirectory() {}

  /**
   * Creates {@code dir} (and missing parents) owner-only when it does not exist; leaves an existing
   * one as it is.
   *
   * @throws ConfigException when it is not a directory, cannot be created or cannot be written
   */
  static void prepare(Path dir) {
    Path abs = dir.toAbsolutePath();
    if (Files.exists(abs) && !Files.isDirectory(abs)) {
      throw new ConfigException(
          "The data directory "
              + abs
              + " is not a directory. Remove or rename that file, or choose another data"
              + " directory (--data-dir or VIGIL_DATA_DIR).");
    }
    if (!Files.isDirectory(abs)) {
      try {
        OwnerOnlyFiles.createDirectories(abs);
      } catch (IOException e) {
        throw new ConfigException(
            "The data directory "
                + abs
                + " cannot be created ("
                + e.getMessage()
                + "). Create it for the service account, or choose another data directory"
                + " (--data-dir or VIGIL_DATA_DIR).");
      }
    }
    if (!Files.isWritable(abs)) {
      throw new ConfigException(
          "The data directory "
              + abs
              + " is not writable by this account. Give the service account write access, or"
              + " choose another data directory (--data-dir or VIGIL_DATA_DIR).");
    }
  }
}
