package io.vigil.server.identity;

import io.vigil.server.cluster.Fence;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Sign-ins on the sign-in page whose password was right and whose one-time code is awaited. The
 * page carries a random value; its SHA-256 keys a row in the shared database that holds the user
 * and the authorization request, so the second step completes exactly the request the password was
 * given for, never asks for the password again, and works on whichever node is active.
 *
 * <p>A state lives {@link #LIFETIME} by the database clock and allows {@link #MAX_ATTEMPTS} wrong
 * codes; then it is gone and the user starts again with the password. Completing a sign-in deletes
 * the row, and only the request whose {@code DELETE} matched goes on.
 */
final class MfaSignInStates {

  static final Duration LIFETIME = Duration.ofMinutes(5);
  static final int MAX_ATTEMPTS = 5;

  /** A second step awaited. */
  record Pending(UUID userId, Map<String, String> authorizeRequest, int attempts) {}

  private final Fence fence;

  MfaSignInStates(Fence fence) {
    this.fence = fence;
  }

  /** Stores a second step for {@code userId}; returns the value the page carries. */
  String create(UUID userId, Map<String, String> authorizeRequest) {
    String state = Secrets.random256();
    String request = StoredRequests.write(authorizeRequest);
    fence.run(
        h -> {
          Instant now =
              h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
          h.createUpdate("DELETE FROM mfa_signin_states WHERE created_at < :cutoff")
              .bind("cutoff", Timestamp.from(now.minus(LIFETIME)))
              .execute();
          h.createUpdate(
                  "INSERT INTO mfa_signin_states (state_hash, user_id, authorize_request,"
                      + " attempts, created_at) VALUES (:hash, :user, :request, 0, :now)")
              .bind("hash", Secrets.sha256(state))
              .bind("user", userId)
              .bind("request", request)
              .bind("now", Timestamp.from(now))
              .execute();
        });
    return state;
  }

  /** The second step {@code state} stands for, unless it is unknown, used up or expired. */
  Optional<Pending> find(String state) {
    if (state == null || state.isEmpty()) {
      return Optional.empty();
    }
    return fence.read(
        h ->
            h.createQuery(
                    "SELECT user_id, authorize_request, attempts, created_at, CURRENT_TIMESTAMP"
                        + " AS db_now FROM mfa_signin_states WHERE state_hash = :hash")
                .bind("hash", Secrets.sha256(state))
                .map(
                    (rs, c) -> {
                      Instant created = rs.getTimestamp("created_at").toInstant();
                      Instant now = rs.getTimestamp("db_now").toInstant();
                      // Expired: as good as used up.
                      int attempts =
                          now.isBefore(created.plus(LIFETIME))
                              ? rs.getInt("attempts")
                              : MAX_ATTEMPTS;
                      return new Pending(
                          rs.getObject("user_id", UUID.class),
                          StoredRequests.read(rs.getString("authorize_request")),
                          attempts);
                    })
                .findOne()
                .filter(p -> p.attempts() < MAX_ATTEMPTS));
  }

  /**
   * Counts a wrong code against {@code state}; the last allowed one deletes it.
   *
   * @return the attempts left
   */
  int failed(String state) {
    String hash = Secrets.sha256(state);
    return fence.write(
        h -> {
          h.createUpdate(
                  "UPDATE mfa_signin_states SET attempts = attempts + 1 WHERE state_hash = :hash")
              .bind("hash", hash)
              .execute();
          int attempts =
              h.createQuery("SELECT attempts FROM mfa_signin_states WHERE state_hash = :hash")
                  .bind("hash", hash)
                  .mapTo(Integer.class)
                  .findOne()
                  .orElse(MAX_ATTEMPTS);
          if (attempts >= MAX_ATTEMPTS) {
            h.createUpdate("DELETE FROM mfa_signin_states WHERE state_hash = :hash")
                .bind("hash", hash)
                .execute();
          }
          return Math.max(0, MAX_ATTEMPTS - attempts);
        });
  }

  /** Uses up {@code state}; true for the one request whose delete matched. */
  boolean consume(String state) {
    return fence.write(
            h ->
                h.createUpdate("DELETE FROM mfa_signin_states WHERE state_hash = :hash")
                    .bind("hash", Secrets.sha256(state))
                    .execute())
        > 0;
  }
}
