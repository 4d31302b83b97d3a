package io.vigil.server.management;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** Group commit of heartbeats on PostgreSQL. */
class HeartbeatBatchesPostgresIT extends HeartbeatBatchesTest {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
