package io.vigil.server.management;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The management API on a real PostgreSQL, as in a cluster. */
class ManagementApiPostgresIT extends ManagementApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
