package io.vigil.server.identity;

import io.vigil.server.cluster.Fence;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Refresh tokens with rotation. Each token is single-use: redeeming it marks it used and issues the
 * next token of the same family. Presenting a used token again means it was copied, so the whole
 * family (the thief's and the rightful client's tokens) is revoked. Only SHA-256 hashes are stored.
 *
 * <p>A family ends when the session that started it ends: every token of a family keeps the expiry
 * of the first one (the refresh token lifetime after sign-in), so rotation never extends a session.
 *
 * <p>Races: two requests redeeming the same token both read it unused, but only one conditional
 * {@code UPDATE … WHERE used = FALSE} matches; the other is treated as reuse.
 */
final class RefreshTokens {

  /** A redeemed token's grant: whose session, for which client, with which scope. */
  record Grant(UUID familyId, UUID userId, String clientId, String scope, Instant expiresAt) {}

  /** The outcome of redeeming a token. */
  sealed interface Redemption {
    record Redeemed(Grant grant) implements Redemption {}

    record Rejected(String reason) implements Redemption {}
  }

  private final Fence fence;
  private final Clock clock;

  RefreshTokens(Fence fence, Clock clock) {
    this.fence = fence;
    this.clock = clock;
  }

  /** Stores a new token for {@code grant} inside the caller's transaction; returns its value. */
  String issue(Handle h, Grant grant) {
    String token = Secrets.random256();
    h.createUpdate(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id, scope,"
                + " issued_at, expires_at, used, revoked) VALUES (:hash, :family, :user, :client,"
                + " :scope, :now, :expires, FALSE, FALSE)")
        .bind("hash", Secrets.sha256(token))
        .bind("family", grant.familyId())
        .bind("user", grant.userId())
        .bind("client", grant.clientId())
        .bind("scope", grant.scope())
        .bind("now", Timestamp.from(clock.instant()))
        .bind("expires", Timestamp.from(grant.expiresAt()))
        .execute();
    return token;
  }

  String issueInOwnTransaction(Grant grant) {
    return fence.write(h -> issue(h, grant));
  }

  /**
   * Marks {@code token} used if it is valid for {@code clientId}; on reuse revokes its family. The
   * revocation commits even though the request fails.
   */
  Redemption redeem(String token, String clientId) {
    String hash = Secrets.sha256(token);
    return fence.write(
        h -> {
          var row =
              h.createQuery("SELECT * FROM refresh_tokens WHERE token_hash = :hash")
                  .bind("hash", hash)
                  .map(
                      (rs, c) ->
                          new Object[] {
                            new Grant(
                                rs.getObject("family_id", UUID.class),
                                rs.getObject("user_id", UUID.class),
                                rs.getString("client_id"),
                                rs.getString("scope"),
                                rs.getTimestamp("expires_at").toInstant()),
                            rs.getBoolean("used"),
                            rs.getBoolean("revoked")
                          })
                  .findOne();
          if (row.isEmpty()) {
            return new Redemption.Rejected("The refresh token is not known to this provider.");
          }
          Grant grant = (Grant) row.get()[0];
          if (!grant.clientId().equals(clientId)) {
            return new Redemption.Rejected(
                "The refresh token was issued to another client than \"" + clientId + "\".");
          }
          if ((Boolean) row.get()[2]) {
            return new Redemption.Rejected("The refresh token has been revoked; sign in again.");
          }
          if (!clock.instant().isBefore(grant.expiresAt())) {
            return new Redemption.Rejected("The refresh token has expired; sign in again.");
          }
          int claimed =
              h.createUpdate(
                      "UPDATE refresh_tokens SET used = TRUE WHERE token_hash = :hash AND used ="
                          + " FALSE AND revoked = FALSE")
                  .bind("hash", hash)
                  .execute();
          if ((Boolean) row.get()[1] || claimed == 0) {
            h.createUpdate("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = :family")
                .bind("family", grant.familyId())
                .execute();
            return new Redemption.Rejected(
                "The refresh token was already used, so it may have been copied: every token of"
                    + " this session is now revoked. Sign in again.");
          }
          return new Redemption.Redeemed(grant);
        });
  }

  /** Revokes a token's family (RFC 7009); unknown tokens are ignored, as that RFC asks. */
  void revoke(String token, String clientId) {
    fence.run(
        h ->
            h.createUpdate(
                    "UPDATE refresh_tokens SET revoked = TRUE WHERE family_id IN (SELECT family_id"
                        + " FROM refresh_tokens WHERE token_hash = :hash AND client_id = :client)")
                .bind("hash", Secrets.sha256(token))
                .bind("client", clientId)
                .execute());
  }

  static void revokeUser(Handle h, UUID userId) {
    h.createUpdate("DELETE FROM refresh_tokens WHERE user_id = :user")
        .bind("user", userId)
        .execute();
  }
}
