package io.vigil.server.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.TreeMap;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/**
 * {@link Database#open} leaves Flyway out on a schema at this build's migrations, and runs it (with
 * its errors) on every other schema. Run on H2 and PostgreSQL.
 */
abstract class SchemaMigrationContract {

  /** A JDBC URL of a new, empty database. */
  abstract String newUrl();

  abstract String user();

  private Database open(String url) {
    return Database.open(url, user(), null, 2);
  }

  private Flyway flyway(String url, String target) {
    return Flyway.configure()
        .dataSource(url, user(), null)
        .locations("classpath:" + SchemaCheck.LOCATION)
        .target(target)
        .load();
  }

  /**
   * Migrates a database at {@code url} and then runs {@code sql} on it (a change to its history).
   */
  private void changeHistory(String url, String sql) {
    try (Database db = open(url)) {
      db.jdbi().useHandle(h -> h.execute(sql));
    }
  }

  private static Map<String, Integer> history(Database db) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT \"script\", \"checksum\" FROM \"flyway_schema_history\""
                            + " WHERE \"success\" AND \"type\" = 'SQL'")
                    .reduceRows(
                        new TreeMap<String, Integer>(),
                        (m, row) -> {
                          m.put(row.getColumn(1, String.class), row.getColumn(2, Integer.class));
                          return m;
                        }));
  }

  @Test
  void aNewDatabaseIsMigratedAndItsHistoryHasFlywaysChecksums() {
    String url = newUrl();
    try (Database db = open(url)) {
      assertThat(db.migrated()).isTrue();
      assertThat(history(db))
          .as("the checksums SchemaCheck computes are the ones Flyway recorded")
          .isEqualTo(new TreeMap<>(SchemaCheck.bundled(Database.class.getClassLoader())));
    }
  }

  @Test
  void aCurrentSchemaSkipsFlyway() {
    String url = newUrl();
    open(url).close();
    try (Database db = open(url)) {
      assertThat(db.migrated()).isFalse();
      assertThat(db.now()).isNotNull();
    }
  }

  @Test
  void aSchemaMissingTheNewestMigrationIsMigrated() {
    String url = newUrl();
    Flyway full = flyway(url, "latest");
    MigrationVersion newest = full.info().all()[full.info().all().length - 1].getVersion();
    MigrationVersion previous = full.info().all()[full.info().all().length - 2].getVersion();
    flyway(url, previous.getVersion()).migrate();
    try (Database db = open(url)) {
      assertThat(db.migrated()).isTrue();
      assertThat(history(db)).hasSize(full.info().all().length);
      assertThat(full.info().current().getVersion()).isEqualTo(newest);
    }
    try (Database db = open(url)) {
      assertThat(db.migrated()).isFalse();
    }
  }

  @Test
  void aFailedMigrationInTheHistoryStillStopsTheStart() {
    String url = newUrl();
    changeHistory(
        url,
        "UPDATE \"flyway_schema_history\" SET \"success\" = FALSE WHERE"
            + " \"installed_rank\" = (SELECT MAX(\"installed_rank\") FROM"
            + " \"flyway_schema_history\")");
    assertThatThrownBy(() -> open(url))
        .isInstanceOf(DatabaseException.class)
        .hasMessageContaining("Cannot prepare the database")
        .hasMessageContaining("failed migration");
  }

  @Test
  void anEditedMigrationStillStopsTheStart() {
    String url = newUrl();
    changeHistory(
        url,
        "UPDATE \"flyway_schema_history\" SET \"checksum\" = \"checksum\" + 1 WHERE"
            + " \"installed_rank\" = 1");
    assertThatThrownBy(() -> open(url))
        .isInstanceOf(DatabaseException.class)
        .hasMessageContaining("checksum mismatch");
  }

  @Test
  void aSchemaAheadOfThisBuildRunsFlywayWhichIgnoresTheFutureMigration() {
    String url = newUrl();
    changeHistory(
        url,
        "INSERT INTO \"flyway_schema_history\" (\"installed_rank\", \"version\","
            + " \"description\", \"type\", \"script\", \"checksum\","
            + " \"installed_by\", \"installed_on\", \"execution_time\", \"success\")"
            + " VALUES (1000, '1000', 'future', 'SQL', 'V1000__future.sql', 1, 'x',"
            + " CURRENT_TIMESTAMP, 0, TRUE)");
    try (Database db = open(url)) {
      assertThat(db.migrated()).isTrue();
    }
  }
}
