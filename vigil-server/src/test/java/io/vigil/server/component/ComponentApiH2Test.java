package io.vigil.server.component;

import io.vigil.server.db.Database;
import io.vigil.server.testing.TestDatabases;

/** Registration tokens, component registration and configuration on the embedded database. */
class ComponentApiH2Test extends ComponentApiContract {
  @Override
  Database openDatabase() {
    return TestDatabases.h2();
  }
}
