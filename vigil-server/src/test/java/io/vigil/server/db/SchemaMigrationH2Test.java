package io.vigil.server.db;

import io.vigil.server.testing.TestDatabases;

class SchemaMigrationH2Test extends SchemaMigrationContract {
  @Override
  String newUrl() {
    return TestDatabases.h2Url();
  }

  @Override
  String user() {
    return null;
  }
}
