package io.vigil.server.identity;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import org.jdbi.v3.core.Handle;

/**
 * Deletes what can never be redeemed again: authorization codes and device authorizations past
 * their expiry, and refresh tokens of families whose every token has expired (used and revoked ones
 * included, so reuse detection keeps working for as long as any token of the family could still be
 * presented).
 *
 * <p>Expiry times were written from the issuing node's clock, so the cut-off is the database's
 * clock less {@link #MARGIN}: a node whose clock runs ahead by less than that never loses a grant
 * that is still valid for it.
 */
final class ExpiredGrants {

  /** How long after its expiry a grant is kept. */
  static final Duration MARGIN = Duration.ofHours(1);

  /** How many rows a purge deleted. */
  record Purged(int authorizationCodes, int deviceAuthorizations, int refreshTokens) {
    boolean any() {
      return authorizationCodes > 0 || deviceAuthorizations > 0 || refreshTokens > 0;
    }
  }

  private ExpiredGrants() {}

  /** Purges inside the caller's (fenced) transaction. */
  static Purged purge(Handle h) {
    Instant now =
        h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
    Timestamp cutoff = Timestamp.from(now.minus(MARGIN));
    int codes =
        h.createUpdate("DELETE FROM authorization_codes WHERE expires_at < :cutoff")
            .bind("cutoff", cutoff)
            .execute();
    int devices =
        h.createUpdate("DELETE FROM device_authorizations WHERE expires_at < :cutoff")
            .bind("cutoff", cutoff)
            .execute();
    int tokens =
        h.createUpdate(
                "DELETE FROM refresh_tokens WHERE family_id IN (SELECT family_id FROM"
                    + " refresh_tokens GROUP BY family_id HAVING MAX(expires_at) < :cutoff)")
            .bind("cutoff", cutoff)
            .execute();
    return new Purged(codes, devices, tokens);
  }
}
