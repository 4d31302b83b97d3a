package io.vigil.server.identity;

import io.vigil.server.db.Sql;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The issuer all nodes of a cluster use when none is configured: the first node records its own
 * ({@code advertised URL + /idp}) and every later node adopts it, so that a token issued by any
 * node verifies on every node. Operators who put a load balancer or virtual IP in front of the
 * cluster set {@code Identity.Issuer} to that address instead.
 */
public final class SharedIssuer {

  private SharedIssuer() {}

  /** The recorded issuer, recording {@code proposed} first if there is none; safe under races. */
  public static String resolve(Jdbi jdbi, String proposed) {
    try {
      jdbi.useHandle(
          h ->
              h.createUpdate(
                      "INSERT INTO identity_issuer (id, issuer) SELECT 1, :issuer WHERE NOT EXISTS"
                          + " (SELECT 1 FROM identity_issuer)")
                  .bind("issuer", proposed)
                  .execute());
    } catch (UnableToExecuteStatementException e) {
      if (!Sql.isUniqueViolation(e)) {
        throw e;
      }
    }
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT issuer FROM identity_issuer WHERE id = 1")
                .mapTo(String.class)
                .one());
  }
}
