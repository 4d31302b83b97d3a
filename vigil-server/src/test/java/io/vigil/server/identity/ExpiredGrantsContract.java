package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Database;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ExpiredGrants} on a database: {@link ExpiredGrantsTest} (H2), {@link
 * ExpiredGrantsPostgresIT}.
 */
abstract class ExpiredGrantsContract {

  private final Database db = open();
  private final Instant now = db.now();

  abstract Database open();

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void authorizationCodesLongPastTheirExpiryAreDeletedAndOthersKept() {
    code("long-expired", now.minus(ExpiredGrants.MARGIN).minus(Duration.ofMinutes(1)));
    code("just-expired", now.minus(Duration.ofMinutes(5)));
    code("valid", now.plus(Duration.ofMinutes(1)));

    ExpiredGrants.Purged purged = db.jdbi().withHandle(ExpiredGrants::purge);

    assertThat(purged.authorizationCodes()).isEqualTo(1);
    assertThat(strings("SELECT code_hash FROM authorization_codes ORDER BY code_hash"))
        .containsExactly("just-expired", "valid");
  }

  @Test
  void aRefreshTokenFamilyIsDeletedOnlyOnceEveryTokenOfItHasExpired() {
    UUID expired = UUID.randomUUID();
    Instant old = now.minus(ExpiredGrants.MARGIN).minus(Duration.ofDays(1));
    token("expired-used", expired, old, true);
    token("expired-last", expired, old.plus(Duration.ofMinutes(1)), false);
    UUID live = UUID.randomUUID();
    // Its first token expired long ago, but a successor is valid: reuse of the first must still
    // be recognised as reuse.
    token("live-used", live, old, true);
    token("live-current", live, now.plus(Duration.ofDays(1)), false);

    ExpiredGrants.Purged purged = db.jdbi().withHandle(ExpiredGrants::purge);

    assertThat(purged.refreshTokens()).isEqualTo(2);
    assertThat(strings("SELECT token_hash FROM refresh_tokens ORDER BY token_hash"))
        .containsExactly("live-current", "live-used");
  }

  @Test
  void nothingToPurgeChangesNothing() {
    code("valid", now.plus(Duration.ofMinutes(1)));
    ExpiredGrants.Purged purged = db.jdbi().withHandle(ExpiredGrants::purge);
    assertThat(purged.any()).isFalse();
    assertThat(strings("SELECT code_hash FROM authorization_codes")).containsExactly("valid");
  }

  private void code(String hash, Instant expires) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO authorization_codes (code_hash, client_id, user_id,"
                            + " redirect_uri, code_challenge, scope, expires_at) VALUES (:hash,"
                            + " 'console', :user, 'http://127.0.0.1/cb', 'x', 'openid', :expires)")
                    .bind("hash", hash)
                    .bind("user", UUID.randomUUID())
                    .bind("expires", Timestamp.from(expires))
                    .execute());
  }

  private void token(String hash, UUID family, Instant expires, boolean used) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id,"
                            + " scope, issued_at, expires_at, used, revoked) VALUES (:hash,"
                            + " :family, :user, 'vigil-cli', 'openid', :issued, :expires, :used,"
                            + " FALSE)")
                    .bind("hash", hash)
                    .bind("family", family)
                    .bind("user", UUID.randomUUID())
                    .bind("issued", Timestamp.from(expires.minus(Duration.ofDays(30))))
                    .bind("expires", Timestamp.from(expires))
                    .bind("used", used)
                    .execute());
  }

  private List<String> strings(String sql) {
    return db.jdbi().withHandle(h -> h.createQuery(sql).mapTo(String.class).list());
  }
}
