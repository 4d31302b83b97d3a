package io.vigil.server.collector;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The system monitor's API on the embedded database of a single server. */
class MonitorApiH2Test extends MonitorApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
