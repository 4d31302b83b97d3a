package io.vigil.server.component;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** Registration tokens, component registration and configuration on a real PostgreSQL. */
class ComponentApiPostgresIT extends ComponentApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.postgres();
  }
}
