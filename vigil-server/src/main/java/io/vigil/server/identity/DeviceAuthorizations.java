package io.vigil.server.identity;

import io.vigil.server.cluster.Fence;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Device authorizations (RFC 8628) in the shared database, so that a device started on one node
 * finishes on another after a failover; {@link DeviceFlow} decides, this class stores. Every write
 * goes through the epoch fence, and every time compared is the database's ({@code
 * CURRENT_TIMESTAMP}), so nodes whose clocks differ agree on expiry and on the polling interval.
 *
 * <p>The browser steps are bound by single-use values, each a random 256-bit value stored as its
 * hash and cleared when used: the user code leads to a sign-in through the authorization endpoint
 * whose {@code state} names this authorization; its callback issues a consent token, which the
 * approve/deny form carries. Each lookup takes the row lock, so two requests racing with one value
 * cannot both use it.
 */
final class DeviceAuthorizations {

  /** What the device is told. {@code userCode} without dash. */
  record Started(String deviceCode, String userCode) {}

  /** A sign-in through the authorization endpoint, begun for the user code entered. */
  record SignIn(String state, String verifier, String clientId) {}

  /** The authorization a sign-in callback belongs to. */
  record Pending(String deviceCodeHash, String verifier, String clientId, DeviceFlow.State state) {}

  /** A device authorization as a poll sees it. */
  record Polled(DeviceFlow.Poll poll, UUID userId, String scope, Instant authTime, UUID family) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Fence fence;

  DeviceAuthorizations(Fence fence) {
    this.fence = fence;
  }

  static Instant now(Handle h) {
    return h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
  }

  /** Starts a device authorization for {@code clientId}; valid {@link DeviceFlow#LIFETIME}. */
  Started start(String clientId, String scope) {
    String deviceCode = Secrets.random256();
    for (int attempt = 1; ; attempt++) {
      String userCode = DeviceFlow.newUserCode(RANDOM);
      try {
        fence.run(
            h -> {
              DeviceFlow.State s = DeviceFlow.State.start(now(h));
              h.createUpdate(
                      "INSERT INTO device_authorizations (device_code_hash, user_code_hash,"
                          + " client_id, scope, status, interval_seconds, expires_at) VALUES"
                          + " (:device, :user, :client, :scope, :status, :interval, :expires)")
                  .bind("device", Secrets.sha256(deviceCode))
                  .bind("user", Secrets.sha256(userCode))
                  .bind("client", clientId)
                  .bind("scope", scope)
                  .bind("status", s.status().stored())
                  .bind("interval", (int) s.interval().toSeconds())
                  .bind("expires", Timestamp.from(s.expiresAt()))
                  .execute();
            });
        return new Started(deviceCode, userCode);
      } catch (UnableToExecuteStatementException e) {
        // Another live authorization drew the same user code (about one in 2^34 per live code).
        if (attempt == 3 || !UserService.isUniqueViolation(e)) {
          throw e;
        }
      }
    }
  }

  /**
   * Begins the sign-in for the user code entered at the device page.
   *
   * @return empty when no pending, unexpired authorization has that code
   */
  Optional<SignIn> beginSignIn(String userCode) {
    String state = Secrets.random256();
    String verifier = Secrets.random256();
    return fence.write(
        h -> {
          Instant now = now(h);
          Optional<String[]> row =
              h.createQuery(
                      "SELECT device_code_hash, client_id, status, expires_at FROM"
                          + " device_authorizations WHERE user_code_hash = :user FOR UPDATE")
                  .bind("user", Secrets.sha256(userCode))
                  .map(
                      (rs, c) ->
                          new String[] {
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getTimestamp(4).toInstant().isAfter(now) ? "live" : "expired"
                          })
                  .findOne();
          if (row.isEmpty()
              || !DeviceFlow.Status.PENDING.stored().equals(row.get()[2])
              || !"live".equals(row.get()[3])) {
            return Optional.empty();
          }
          h.createUpdate(
                  "UPDATE device_authorizations SET sign_in_state_hash = :state, sign_in_verifier"
                      + " = :verifier WHERE device_code_hash = :device")
              .bind("state", Secrets.sha256(state))
              .bind("verifier", verifier)
              .bind("device", row.get()[0])
              .execute();
          return Optional.of(new SignIn(state, verifier, row.get()[1]));
        });
  }

  /**
   * Uses up the sign-in {@code state} inside the caller's transaction.
   *
   * @return empty when no authorization waits for that state (unknown, or used)
   */
  static Optional<Pending> takeSignIn(Handle h, String state) {
    String hash = Secrets.sha256(state);
    Optional<Pending> pending =
        h.createQuery(
                "SELECT * FROM device_authorizations WHERE sign_in_state_hash = :hash FOR UPDATE")
            .bind("hash", hash)
            .map(
                (rs, c) ->
                    new Pending(
                        rs.getString("device_code_hash"),
                        rs.getString("sign_in_verifier"),
                        rs.getString("client_id"),
                        state(rs)))
            .findOne();
    pending.ifPresent(
        p ->
            h.createUpdate(
                    "UPDATE device_authorizations SET sign_in_state_hash = NULL, sign_in_verifier"
                        + " = NULL WHERE device_code_hash = :device")
                .bind("device", p.deviceCodeHash())
                .execute());
    return pending;
  }

  /**
   * Records who signed in for the authorization, in the caller's transaction.
   *
   * @return the consent token the approve/deny form carries
   */
  static String signedIn(Handle h, String deviceCodeHash, UUID userId, Instant authTime) {
    String consent = Secrets.random256();
    h.createUpdate(
            "UPDATE device_authorizations SET user_id = :user, auth_time = :auth, consent_hash ="
                + " :consent WHERE device_code_hash = :device")
        .bind("user", userId)
        .bind("auth", Timestamp.from(authTime))
        .bind("consent", Secrets.sha256(consent))
        .bind("device", deviceCodeHash)
        .execute();
    return consent;
  }

  /**
   * The user's decision, carried by the consent token, which it uses up.
   *
   * @return the decision, or a refusal when the token is unknown or was used
   */
  DeviceFlow.Decision decide(String consent, boolean approve) {
    return fence.write(
        h -> {
          Optional<Object[]> row =
              h.createQuery(
                      "SELECT * FROM device_authorizations WHERE consent_hash = :hash FOR UPDATE")
                  .bind("hash", Secrets.sha256(consent))
                  .map((rs, c) -> new Object[] {rs.getString("device_code_hash"), state(rs)})
                  .findOne();
          if (row.isEmpty()) {
            return new DeviceFlow.Decision.Refused(
                "This approval form was already used or is not valid; start the sign-in on your"
                    + " device again.");
          }
          Instant now = now(h);
          DeviceFlow.State s = (DeviceFlow.State) row.get()[1];
          DeviceFlow.Decision d = approve ? DeviceFlow.approve(s, now) : DeviceFlow.deny(s, now);
          h.createUpdate(
                  "UPDATE device_authorizations SET consent_hash = NULL, status = :status WHERE"
                      + " device_code_hash = :device")
              .bind(
                  "status",
                  d instanceof DeviceFlow.Decision.Taken t
                      ? t.next().status().stored()
                      : s.status().stored())
              .bind("device", row.get()[0])
              .execute();
          return d;
        });
  }

  /**
   * A poll of the token endpoint with {@code deviceCode}, inside the caller's transaction, which
   * issues the tokens when the answer is {@link DeviceFlow.Poll.Redeem}. The next state is stored
   * whatever the answer, so the caller commits refusals too; a replay revokes the session the code
   * started.
   *
   * @return empty when the code is unknown or was issued to another client
   */
  static Optional<Polled> poll(Handle h, String deviceCode, String clientId) {
    String hash = Secrets.sha256(deviceCode);
    Optional<Object[]> row =
        h.createQuery(
                "SELECT * FROM device_authorizations WHERE device_code_hash = :hash FOR UPDATE")
            .bind("hash", hash)
            .map(
                (rs, c) -> {
                  Timestamp auth = rs.getTimestamp("auth_time");
                  return new Object[] {
                    rs.getString("client_id"),
                    state(rs),
                    rs.getObject("user_id", UUID.class),
                    rs.getString("scope"),
                    auth == null ? null : auth.toInstant(),
                    rs.getObject("family_id", UUID.class)
                  };
                })
            .findOne();
    if (row.isEmpty() || !clientId.equals(row.get()[0])) {
      return Optional.empty();
    }
    Object[] r = row.get();
    DeviceFlow.Poll poll = DeviceFlow.poll((DeviceFlow.State) r[1], now(h));
    DeviceFlow.State next = poll.next();
    h.createUpdate(
            "UPDATE device_authorizations SET status = :status, interval_seconds = :interval,"
                + " last_polled_at = :polled WHERE device_code_hash = :device")
        .bind("status", next.status().stored())
        .bind("interval", (int) next.interval().toSeconds())
        .bind("polled", next.lastPolledAt() == null ? null : Timestamp.from(next.lastPolledAt()))
        .bind("device", hash)
        .execute();
    if (poll instanceof DeviceFlow.Poll.Replayed && r[5] != null) {
      h.createUpdate("UPDATE refresh_tokens SET revoked = TRUE WHERE family_id = :family")
          .bind("family", r[5])
          .execute();
    }
    return Optional.of(new Polled(poll, (UUID) r[2], (String) r[3], (Instant) r[4], (UUID) r[5]));
  }

  /** Records, in the redeeming transaction, the refresh-token family the device code started. */
  static void recordFamily(Handle h, String deviceCode, UUID familyId) {
    h.createUpdate(
            "UPDATE device_authorizations SET family_id = :family WHERE device_code_hash = :hash")
        .bind("family", familyId)
        .bind("hash", Secrets.sha256(deviceCode))
        .execute();
  }

  private static DeviceFlow.State state(ResultSet rs) throws SQLException {
    Timestamp polled = rs.getTimestamp("last_polled_at");
    return new DeviceFlow.State(
        DeviceFlow.Status.ofStored(rs.getString("status")),
        rs.getTimestamp("expires_at").toInstant(),
        Duration.ofSeconds(rs.getInt("interval_seconds")),
        polled == null ? null : polled.toInstant());
  }
}
