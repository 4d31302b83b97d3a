package io.vigil.server.identity;

import io.vigil.server.cluster.Fence;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
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
 * <p>Redemption and the successor are written in the caller's one transaction ({@link #redeem} and
 * {@link #issue} on the same handle), so a node that loses the role in between leaves the token
 * unused for the next owner. A response can still be lost after the commit (the node is killed
 * before it answers). So a client that presents a used token again within the reuse grace (by the
 * database clock) and whose successor has never been redeemed is served again: the unused successor
 * is retired and a new one issued. A thief who replays within the grace gets a token, but the
 * rightful client's next refresh then presents a retired token, which revokes the family; after the
 * grace, or once the successor was redeemed, any reuse revokes it at once.
 *
 * <p>Races: redemption locks the token's row first, so two requests for one token run one after the
 * other and the second sees what the first did.
 */
final class RefreshTokens {

  /**
   * A redeemed token's grant: whose session, for which client, with which scope.
   *
   * @param authTime when the user signed in to start the family (what ID tokens issued on refresh
   *     carry as {@code auth_time})
   */
  record Grant(
      UUID familyId,
      UUID userId,
      String clientId,
      String scope,
      Instant expiresAt,
      Instant authTime) {}

  /** The outcome of redeeming a token. */
  sealed interface Redemption {
    /**
     * @param parentHash the redeemed token's hash, which its successor records
     */
    record Redeemed(Grant grant, String parentHash) implements Redemption {}

    /**
     * @param reused the grant of a token presented again, whose family was revoked for it: a
     *     security event; null for any other rejection
     */
    record Rejected(String reason, Grant reused) implements Redemption {
      Rejected(String reason) {
        this(reason, null);
      }
    }
  }

  private final Fence fence;
  private final Clock clock;
  private final Duration reuseGrace;

  /**
   * @param reuseGrace how long after its redemption a token whose successor is still unused may be
   *     redeemed again (a lost response); zero turns this off
   */
  RefreshTokens(Fence fence, Clock clock, Duration reuseGrace) {
    this.fence = fence;
    this.clock = clock;
    this.reuseGrace = reuseGrace;
  }

  /**
   * Stores a new token for {@code grant} inside the caller's transaction; returns its value.
   *
   * @param parentHash the hash of the token it succeeds, or null for a family's first token
   */
  String issue(Handle h, Grant grant, String parentHash) {
    String token = Secrets.random256();
    h.createUpdate(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id, scope,"
                + " issued_at, expires_at, used, revoked, parent_hash, auth_time) VALUES (:hash,"
                + " :family, :user, :client, :scope, :now, :expires, FALSE, FALSE, :parent,"
                + " :auth)")
        .bind("hash", Secrets.sha256(token))
        .bind("family", grant.familyId())
        .bind("user", grant.userId())
        .bind("client", grant.clientId())
        .bind("scope", grant.scope())
        .bind("now", Timestamp.from(clock.instant()))
        .bind("expires", Timestamp.from(grant.expiresAt()))
        .bind("parent", parentHash)
        .bind("auth", Timestamp.from(grant.authTime()))
        .execute();
    return token;
  }

  private record Row(Grant grant, boolean used, boolean revoked, boolean withinGrace) {}

  /**
   * Marks {@code token} used, inside the caller's transaction, if it is valid for {@code clientId};
   * on reuse revokes its family. The caller commits a rejection too, so that a revocation stays.
   */
  Redemption redeem(Handle h, String token, String clientId) {
    String hash = Secrets.sha256(token);
    var found =
        h.createQuery(
                "SELECT family_id, user_id, client_id, scope, expires_at, used, revoked, used_at,"
                    + " issued_at, auth_time, CURRENT_TIMESTAMP AS db_now FROM refresh_tokens"
                    + " WHERE token_hash = :hash"
                    + " FOR UPDATE")
            .bind("hash", hash)
            .map(
                (rs, c) -> {
                  Timestamp usedAt = rs.getTimestamp("used_at");
                  Instant graceStart = rs.getTimestamp("db_now").toInstant().minus(reuseGrace);
                  // Families of earlier versions lack the sign-in time: the token's issue time
                  // is the latest it can have been.
                  Timestamp authTime = rs.getTimestamp("auth_time");
                  Instant signedIn =
                      (authTime != null ? authTime : rs.getTimestamp("issued_at")).toInstant();
                  return new Row(
                      new Grant(
                          rs.getObject("family_id", UUID.class),
                          rs.getObject("user_id", UUID.class),
                          rs.getString("client_id"),
                          rs.getString("scope"),
                          rs.getTimestamp("expires_at").toInstant(),
                          signedIn),
                      rs.getBoolean("used"),
                      rs.getBoolean("revoked"),
                      usedAt != null && usedAt.toInstant().isAfter(graceStart));
                })
            .findOne();
    if (found.isEmpty()) {
      return new Redemption.Rejected("The refresh token is not known to this provider.");
    }
    Row row = found.get();
    Grant grant = row.grant();
    if (!grant.clientId().equals(clientId)) {
      return new Redemption.Rejected(
          "The refresh token was issued to another client than \"" + clientId + "\".");
    }
    if (row.revoked()) {
      return new Redemption.Rejected("The refresh token has been revoked; sign in again.");
    }
    if (!clock.instant().isBefore(grant.expiresAt())) {
      return new Redemption.Rejected("The refresh token has expired; sign in again.");
    }
    if (!row.used()) {
      h.createUpdate(
              "UPDATE refresh_tokens SET used = TRUE, used_at = CURRENT_TIMESTAMP"
                  + " WHERE token_hash = :hash")
          .bind("hash", hash)
          .execute();
      return new Redemption.Redeemed(grant, hash);
    }
    if (row.withinGrace() && successorsUnused(h, hash)) {
      h.createUpdate("UPDATE refresh_tokens SET used = TRUE WHERE parent_hash = :hash")
          .bind("hash", hash)
          .execute();
      return new Redemption.Redeemed(grant, hash);
    }
    h.createUpdate("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = :family")
        .bind("family", grant.familyId())
        .execute();
    return new Redemption.Rejected(
        "The refresh token was already used, so it may have been copied: every token of"
            + " this session is now revoked. Sign in again.",
        grant);
  }

  /** Whether no token issued for {@code hash} has been redeemed yet (retired ones do not count). */
  private static boolean successorsUnused(Handle h, String hash) {
    return h.createQuery(
                "SELECT COUNT(*) FROM refresh_tokens WHERE parent_hash = :hash"
                    + " AND used_at IS NOT NULL")
            .bind("hash", hash)
            .mapTo(Long.class)
            .one()
        == 0;
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
