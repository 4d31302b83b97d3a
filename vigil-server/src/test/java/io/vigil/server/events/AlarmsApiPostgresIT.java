package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The alarms API on a real PostgreSQL, as in a cluster. */
class AlarmsApiPostgresIT extends AlarmsApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
