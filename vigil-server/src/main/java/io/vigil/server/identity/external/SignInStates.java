package io.vigil.server.identity.external;

import io.vigil.server.cluster.Fence;
import io.vigil.server.identity.StoredRequests;
import io.vigil.server.protect.DataProtector;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * Sign-ins that went to an external provider and have not come back yet. Each is a row in the
 * shared database keyed by the SHA-256 of its {@code state}, so the callback may arrive at any node
 * (after a failover too). A state is single-use: {@link #consume} deletes the row, and only the
 * request whose DELETE matched continues, so two concurrent callbacks with one state cannot both
 * succeed. States expire {@link #LIFETIME} after creation by the database's clock. The PKCE
 * verifier is stored encrypted by the data protector (purpose {@value #VERIFIER_PURPOSE}).
 */
final class SignInStates {

  static final Duration LIFETIME = Duration.ofMinutes(10);
  static final String VERIFIER_PURPOSE = "identity.external.pkce-verifier";

  /** What a state stands for. */
  record Pending(
      String provider, String nonce, String codeVerifier, Map<String, String> authorizeRequest) {}

  /** The result of presenting a state. */
  sealed interface Outcome {
    record Found(Pending pending) implements Outcome {}

    record Unknown() implements Outcome {}

    record Expired(String provider) implements Outcome {}
  }

  private final Fence fence;
  private final DataProtector protector;
  private final Duration lifetime;

  SignInStates(Fence fence, DataProtector protector, Duration lifetime) {
    this.fence = fence;
    this.protector = protector;
    this.lifetime = lifetime;
  }

  /** Stores a pending sign-in under {@code state}; also removes expired ones. */
  void create(String state, Pending pending) {
    byte[] verifier =
        protector.protect(
            VERIFIER_PURPOSE, pending.codeVerifier().getBytes(StandardCharsets.UTF_8));
    String request = StoredRequests.write(pending.authorizeRequest());
    fence.write(
        h -> {
          Instant now =
              h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
          h.createUpdate("DELETE FROM external_signin_states WHERE created_at < :cutoff")
              .bind("cutoff", Timestamp.from(now.minus(lifetime)))
              .execute();
          h.createUpdate(
                  "INSERT INTO external_signin_states (state_hash, provider, nonce,"
                      + " code_verifier_protected, authorize_request, created_at) VALUES (:hash,"
                      + " :provider, :nonce, :verifier, :request, :now)")
              .bind("hash", sha256(state))
              .bind("provider", pending.provider())
              .bind("nonce", pending.nonce())
              .bind("verifier", verifier)
              .bind("request", request)
              .bind("now", Timestamp.from(now))
              .execute();
          return null;
        });
  }

  /** Uses up {@code state}: whatever the outcome, the state cannot be presented again. */
  Outcome consume(String state) {
    String hash = sha256(state);
    return fence.write(
        h -> {
          Optional<Object[]> row =
              h.createQuery(
                      "SELECT provider, nonce, code_verifier_protected, authorize_request,"
                          + " created_at, CURRENT_TIMESTAMP AS db_now FROM external_signin_states"
                          + " WHERE state_hash = :hash")
                  .bind("hash", hash)
                  .map(
                      (rs, c) ->
                          new Object[] {
                            rs.getString("provider"),
                            rs.getString("nonce"),
                            rs.getBytes("code_verifier_protected"),
                            rs.getString("authorize_request"),
                            rs.getTimestamp("created_at").toInstant(),
                            rs.getTimestamp("db_now").toInstant()
                          })
                  .findOne();
          int deleted =
              h.createUpdate("DELETE FROM external_signin_states WHERE state_hash = :hash")
                  .bind("hash", hash)
                  .execute();
          if (row.isEmpty() || deleted == 0) {
            return new Outcome.Unknown();
          }
          Object[] r = row.get();
          if (!((Instant) r[5]).isBefore(((Instant) r[4]).plus(lifetime))) {
            return new Outcome.Expired((String) r[0]);
          }
          String verifier =
              new String(
                  protector.unprotect(VERIFIER_PURPOSE, (byte[]) r[2]), StandardCharsets.UTF_8);
          return new Outcome.Found(
              new Pending(
                  (String) r[0], (String) r[1], verifier, StoredRequests.read((String) r[3])));
        });
  }

  static String sha256(String value) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available in this JDK", e);
    }
  }
}
