package io.vigil.server.collector;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The system monitor's API on a real PostgreSQL, as in a cluster. */
class MonitorApiPostgresIT extends MonitorApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
