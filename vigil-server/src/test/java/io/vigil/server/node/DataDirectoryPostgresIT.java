package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.config.ConfigException;
import io.vigil.server.config.SettingsLoader;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On PostgreSQL nothing else writes to the data directory at start, yet generic resources run in it
 * and the certificate store lives there: the node creates it, owner-only, or refuses to start.
 */
class DataDirectoryPostgresIT {

  @TempDir Path parent;

  @Test
  void aNodeOnPostgresCreatesAMissingDataDirectoryOwnerOnly() throws Exception {
    Path dataDir = parent.resolve("var").resolve("vigil");
    try (EmbeddedPostgres pg = EmbeddedPostgres.start();
        Node node = Node.start(settings(pg, dataDir))) {
      assertThat(dataDir).isDirectory();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir)))
          .isEqualTo("rwx------");
      assertThat(node.port()).isPositive();
    }
  }

  @Test
  void aFileWhereTheDataDirectoryShouldBeStopsTheNodeWithAClearMessage() throws Exception {
    Path dataDir = parent.resolve("vigil");
    Files.writeString(dataDir, "not a directory");
    try (EmbeddedPostgres pg = EmbeddedPostgres.start()) {
      assertThatThrownBy(() -> Node.start(settings(pg, dataDir)))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(dataDir.toString())
          .hasMessageContaining("not a directory")
          .hasMessageContaining("VIGIL_DATA_DIR");
    }
  }

  private static io.vigil.server.config.Settings settings(EmbeddedPostgres pg, Path dataDir) {
    return SettingsLoader.load(
        dataDir,
        Map.of(
            "VIGIL_DB_URL",
            pg.getJdbcUrl("postgres", "postgres"),
            "VIGIL_DB_USER",
            "postgres",
            "VIGIL_ADMIN_PASSWORD",
            "data-directory-admin-password",
            "VIGIL_HTTP_ALLOW_PLAIN",
            "true",
            "VIGIL_MACHINE_KEY_FILE",
            dataDir.resolveSibling("machine.key").toString()),
        new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
  }
}
