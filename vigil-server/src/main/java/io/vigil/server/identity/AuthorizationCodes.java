package io.vigil.server.identity;

import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import io.vigil.server.cluster.Fence;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Authorization codes for the code flow with PKCE (S256 only). Codes are stored as SHA-256 hashes
 * in the database, so a failover between sign-in and redemption does not lose them. A code lives
 * {@link #LIFETIME} and is single-use: redemption deletes the row first, and only the request whose
 * DELETE matched may continue, so a code cannot be redeemed twice even by concurrent requests. A
 * redemption that then fails its checks (wrong verifier, client or redirect URI) has still used up
 * the code, which stops guessing the verifier.
 */
final class AuthorizationCodes {

  static final Duration LIFETIME = Duration.ofSeconds(60);

  /** What a code stands for. */
  record Grant(UUID userId, String scope, String nonce, Instant authTime) {}

  sealed interface Redemption {
    record Redeemed(Grant grant) implements Redemption {}

    record Rejected(String reason) implements Redemption {}

    /**
     * A code presented again: refused, and the session it started (family, null when it started
     * none) is revoked. An event for the audit log: the code may have been intercepted.
     */
    record Replayed(UUID userId, UUID family, String reason) implements Redemption {}
  }

  private final Fence fence;
  private final Clock clock;

  AuthorizationCodes(Fence fence, Clock clock) {
    this.fence = fence;
    this.clock = clock;
  }

  String issue(
      String clientId,
      UUID userId,
      String redirectUri,
      String s256Challenge,
      String scope,
      String nonce) {
    String code = Secrets.random256();
    Instant now = clock.instant();
    fence.run(
        h -> {
          // Expired codes are purged by ExpiredGrants, used ones kept until then for replays.
          h.createUpdate(
                  "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri,"
                      + " code_challenge, scope, nonce, expires_at) VALUES (:hash, :client, :user,"
                      + " :redirect, :challenge, :scope, :nonce, :expires)")
              .bind("hash", Secrets.sha256(code))
              .bind("client", clientId)
              .bind("user", userId)
              .bind("redirect", redirectUri)
              .bind("challenge", s256Challenge)
              .bind("scope", scope)
              .bind("nonce", nonce)
              .bind("expires", Timestamp.from(now.plus(LIFETIME)))
              .execute();
        });
    return code;
  }

  /**
   * Uses up {@code code} inside the caller's transaction, which issues the tokens it stands for;
   * the caller commits a rejection too, so that a used-up code stays used. A code presented again
   * revokes the refresh-token family it started ({@link #recordFamily}): it may have been
   * intercepted (RFC 6749 4.1.2).
   */
  Redemption redeem(Handle h, String code, String clientId, String redirectUri, String verifier) {
    String hash = Secrets.sha256(code);
    var row =
        h.createQuery("SELECT * FROM authorization_codes WHERE code_hash = :hash FOR UPDATE")
            .bind("hash", hash)
            .map(
                (rs, c) ->
                    new Object[] {
                      rs.getString("client_id"),
                      rs.getObject("user_id", UUID.class),
                      rs.getString("redirect_uri"),
                      rs.getString("code_challenge"),
                      rs.getString("scope"),
                      rs.getString("nonce"),
                      rs.getTimestamp("expires_at").toInstant(),
                      rs.getBoolean("used"),
                      rs.getObject("family_id", UUID.class)
                    })
            .findOne();
    if (row.isEmpty()) {
      return new Redemption.Rejected(
          "The authorization code is unknown to this provider; codes are single-use. Sign in"
              + " again.");
    }
    Object[] r = row.get();
    if ((Boolean) r[7]) {
      if (r[8] != null) {
        h.createUpdate("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = :family")
            .bind("family", r[8])
            .execute();
      }
      return new Redemption.Replayed(
          (UUID) r[1],
          (UUID) r[8],
          "The authorization code was already used, so it may have been intercepted: the session"
              + " it started is revoked. Sign in again.");
    }
    h.createUpdate("UPDATE authorization_codes SET used = TRUE WHERE code_hash = :hash")
        .bind("hash", hash)
        .execute();
    Instant expires = (Instant) r[6];
    if (!clock.instant().isBefore(expires)) {
      return new Redemption.Rejected("The authorization code has expired; sign in again.");
    }
    if (!r[0].equals(clientId)) {
      return new Redemption.Rejected(
          "The authorization code was issued to another client than \"" + clientId + "\".");
    }
    if (!r[2].equals(redirectUri)) {
      return new Redemption.Rejected(
          "redirect_uri does not match the one used in the authorization request.");
    }
    if (verifier == null) {
      return new Redemption.Rejected(
          "code_verifier is required: this provider requires PKCE (S256).");
    }
    CodeVerifier codeVerifier;
    try {
      codeVerifier = new CodeVerifier(verifier);
    } catch (IllegalArgumentException e) {
      return new Redemption.Rejected(
          "code_verifier is malformed: it must be 43-128 unreserved characters.");
    }
    String computed = CodeChallenge.compute(CodeChallengeMethod.S256, codeVerifier).getValue();
    if (!Secrets.constantTimeEquals(computed, (String) r[3])) {
      return new Redemption.Rejected(
          "code_verifier does not match the code_challenge of the authorization request.");
    }
    return new Redemption.Redeemed(
        new Grant((UUID) r[1], (String) r[4], (String) r[5], expires.minus(LIFETIME)));
  }

  /** Records, in the redeeming transaction, the refresh-token family {@code code} started. */
  static void recordFamily(Handle h, String code, UUID familyId) {
    h.createUpdate("UPDATE authorization_codes SET family_id = :family WHERE code_hash = :hash")
        .bind("family", familyId)
        .bind("hash", Secrets.sha256(code))
        .execute();
  }
}
