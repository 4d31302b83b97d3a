package io.vigil.server.identity;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

class ExpiredGrantsTest extends ExpiredGrantsContract {
  @Override
  Database open() {
    return TestDatabases.h2();
  }
}
