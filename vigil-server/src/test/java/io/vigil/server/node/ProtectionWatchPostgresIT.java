package io.vigil.server.node;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The owner's watch of the nodes' data protection on a real PostgreSQL, as in a cluster. */
class ProtectionWatchPostgresIT extends ProtectionWatchTest {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
