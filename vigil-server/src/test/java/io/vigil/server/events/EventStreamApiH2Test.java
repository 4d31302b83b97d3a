package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The live event stream on the embedded database of a single server. */
class EventStreamApiH2Test extends EventStreamApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
