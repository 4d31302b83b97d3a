package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The events API on a real PostgreSQL, as in a cluster. */
class EventsApiPostgresIT extends EventsApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
