package io.vigil.server.cluster;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;

/** The lease store on the embedded database of a single server. */
class LeaseStoreH2Test extends LeaseStoreContract {
  @Override
  String url() {
    return TestDatabases.h2Url();
  }

  @Override
  Database open(String url) {
    return Database.open(url, null, null, 4);
  }

  @Override
  Dialect dialect() {
    return Dialect.H2;
  }

  @Override
  String user() {
    return null;
  }
}
