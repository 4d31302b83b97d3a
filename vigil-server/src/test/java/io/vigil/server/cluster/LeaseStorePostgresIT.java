package io.vigil.server.cluster;

import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.testing.TestDatabases;

/** The lease store on a real PostgreSQL, as in a cluster. */
class LeaseStorePostgresIT extends LeaseStoreContract {
  @Override
  String url() {
    return TestDatabases.postgresUrl();
  }

  @Override
  Database open(String url) {
    return Database.open(url, "postgres", null, 4);
  }

  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }

  @Override
  String user() {
    return "postgres";
  }
}
