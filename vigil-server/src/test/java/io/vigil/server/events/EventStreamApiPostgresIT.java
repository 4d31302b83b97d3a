package io.vigil.server.events;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** The live event stream on a real PostgreSQL, as in a cluster. */
class EventStreamApiPostgresIT extends EventStreamApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
