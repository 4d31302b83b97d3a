package io.vigil.server.management;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The management API on the embedded database of a single server. */
class ManagementApiH2Test extends ManagementApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
