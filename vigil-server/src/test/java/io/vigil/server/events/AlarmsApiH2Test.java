package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The alarms API on the embedded database of a single server. */
class AlarmsApiH2Test extends AlarmsApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
