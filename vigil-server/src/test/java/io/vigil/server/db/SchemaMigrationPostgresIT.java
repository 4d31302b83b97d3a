package io.vigil.server.db;

import io.vigil.server.testing.TestDatabases;

class SchemaMigrationPostgresIT extends SchemaMigrationContract {
  @Override
  String newUrl() {
    return TestDatabases.postgresUrl();
  }

  @Override
  String user() {
    return "postgres";
  }
}
