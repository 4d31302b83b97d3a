package io.vigil.server.identity;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

class ExpiredGrantsPostgresIT extends ExpiredGrantsContract {
  @Override
  Database open() {
    return TestDatabases.postgres();
  }
}
