package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The events API on the embedded database of a single server. */
class EventsApiH2Test extends EventsApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
