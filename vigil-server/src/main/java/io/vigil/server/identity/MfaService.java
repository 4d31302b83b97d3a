package io.vigil.server.identity;

import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.ApiException;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;

/**
 * Multi-factor sign-in for local users: a TOTP authenticator ({@link Totp}) and single-use recovery
 * codes.
 *
 * <p>Enrolment has two steps: {@link #enrol} stores a new secret, pending; {@link #confirm} with a
 * code from the authenticator activates it and hands out the recovery codes, the only time they are
 * shown. Secrets are encrypted by the data protector (purpose {@value #SECRET_PURPOSE}), because
 * they must be read back; recovery codes are stored as SHA-256 hashes of random 80-bit values.
 *
 * <p>Every code check goes through a {@link LoginThrottle} of its own, so wrong codes are delayed
 * exactly as wrong passwords are, and a right password does not clear the count of wrong codes.
 * Each check and its effect run in one fenced transaction holding the row lock of the user's
 * authenticator: the last accepted time step is stored with the acceptance, so of two concurrent
 * requests with one code only one succeeds, and a recovery code is used up by the {@code DELETE}
 * that matched it. The time a code is checked against is the database's, like every time nodes
 * compare. Every change is audited with who, the client address and the time.
 */
public final class MfaService {

  static final String SECRET_PURPOSE = "identity.mfa.totp-secret";
  static final int RECOVERY_CODES = 10;
  static final String ISSUER = "Vigil";

  /** Base32 characters of a recovery code: 16, or 80 random bits. */
  private static final int RECOVERY_CODE_LENGTH = 16;

  /** What {@code GET /api/v1/users/{id}} shows; never a secret. */
  public record Status(boolean enabled, int recoveryCodesLeft) {}

  /** A new, pending authenticator: shown once, to the user enrolling. */
  public record Enrolment(String secret, String otpauthUri) {}

  /** Fresh recovery codes: shown once. */
  public record RecoveryCodes(List<String> recoveryCodes) {}

  /** Which kind of code a sign-in was completed with. */
  enum Factor {
    TOTP("totp"),
    RECOVERY_CODE("recovery_code");

    final String id;

    Factor(String id) {
      this.id = id;
    }
  }

  /** Who a code check is for, for the audit log. */
  record Who(String name, String id, String address) {
    static Who of(Principal p, String address) {
      return new Who(p.name(), p.subject(), address);
    }
  }

  /** A code check refused by the throttle before it was made. */
  static final class Throttled extends RuntimeException {
    final Duration retryAfter;

    Throttled(String reason, Duration retryAfter) {
      super(reason, null, false, false);
      this.retryAfter = retryAfter;
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Fence fence;
  private final DataProtector protector;
  private final LoginThrottle throttle;

  MfaService(Fence fence, DataProtector protector, LoginThrottle throttle) {
    this.fence = fence;
    this.protector = protector;
    this.throttle = throttle;
  }

  // --- for the user itself --------------------------------------------------------------------

  /**
   * Starts enrolment: a new secret replaces any pending one.
   *
   * @throws ApiException 409 {@code mfa_enabled} when the user already has an active authenticator,
   *     409 {@code external_user} for users of an external provider
   */
  public Enrolment enrol(Principal caller, String address) {
    UUID userId = self(caller);
    byte[] secret = new byte[Totp.SECRET_BYTES];
    RANDOM.nextBytes(secret);
    byte[] sealed = protector.protect(SECRET_PURPOSE, secret);
    String encoded = Base32.encode(secret);
    return fence.write(
        h -> {
          User user = lockLocalUser(h, userId);
          if (row(h, userId).map(Row::confirmed).orElse(false)) {
            throw ApiException.conflict(
                "mfa_enabled",
                "User \""
                    + user.username()
                    + "\" already has multi-factor sign-in. To move to a new authenticator,"
                    + " disable it (DELETE /api/v1/me/mfa with a code) and enrol again.");
          }
          h.createUpdate("DELETE FROM user_mfa WHERE user_id = :id").bind("id", userId).execute();
          h.createUpdate(
                  "INSERT INTO user_mfa (user_id, secret_protected, confirmed, last_used_step,"
                      + " created_at) VALUES (:id, :secret, FALSE, 0, CURRENT_TIMESTAMP)")
              .bind("id", userId)
              .bind("secret", sealed)
              .execute();
          audit(h, Who.of(caller, address), "user.mfa.enrol", userId, details("method", "totp"));
          return new Enrolment(encoded, otpauthUri(user.username(), encoded));
        });
  }

  /**
   * Activates the pending authenticator with a code it shows, and returns new recovery codes.
   *
   * @throws ApiException 409 {@code no_pending_enrolment}, 400 {@code invalid_code}, 429 {@code
   *     too_many_attempts}
   */
  public RecoveryCodes confirm(Principal caller, String code, String address) {
    UUID userId = self(caller);
    List<String> codes = newRecoveryCodes();
    return guarded(
        caller.name(),
        address,
        () ->
            fence.write(
                h -> {
                  User user = lockLocalUser(h, userId);
                  Row row =
                      row(h, userId)
                          .filter(r -> !r.confirmed())
                          .orElseThrow(
                              () ->
                                  ApiException.conflict(
                                      "no_pending_enrolment",
                                      "User \""
                                          + user.username()
                                          + "\" has no pending authenticator to confirm. Start"
                                          + " with POST /api/v1/me/mfa/totp."));
                  OptionalLong step = totp(h, row, code);
                  if (step.isEmpty()) {
                    return Optional.<RecoveryCodes>empty();
                  }
                  h.createUpdate(
                          "UPDATE user_mfa SET confirmed = TRUE, confirmed_at = CURRENT_TIMESTAMP,"
                              + " last_used_step = :step WHERE user_id = :id")
                      .bind("step", step.getAsLong())
                      .bind("id", userId)
                      .execute();
                  storeRecoveryCodes(h, userId, codes);
                  Map<String, Object> d = details("method", "totp");
                  d.put("recoveryCodes", codes.size());
                  audit(h, Who.of(caller, address), "user.mfa.confirm", userId, d);
                  return Optional.of(new RecoveryCodes(codes));
                }));
  }

  /**
   * Turns multi-factor sign-in off after a current code or a recovery code.
   *
   * @throws ApiException 409 {@code mfa_not_enabled}, 400 {@code invalid_code}, 429
   */
  public void disable(Principal caller, String code, String address) {
    UUID userId = self(caller);
    Who who = Who.of(caller, address);
    guarded(
        caller.name(),
        address,
        () ->
            fence.write(
                h -> {
                  User user = lockLocalUser(h, userId);
                  Row row = enabledRow(h, user);
                  Optional<Factor> factor = check(h, row, code, who);
                  if (factor.isEmpty()) {
                    return Optional.<Boolean>empty();
                  }
                  remove(h, userId);
                  audit(h, who, "user.mfa.disable", userId, details("with", factor.get().id));
                  return Optional.of(true);
                }));
  }

  /**
   * Replaces the recovery codes after a current code from the authenticator (a recovery code does
   * not do: whoever holds only those must not be able to mint more).
   *
   * @throws ApiException 409 {@code mfa_not_enabled}, 400 {@code invalid_code}, 429
   */
  public RecoveryCodes regenerateRecoveryCodes(Principal caller, String code, String address) {
    UUID userId = self(caller);
    List<String> codes = newRecoveryCodes();
    return guarded(
        caller.name(),
        address,
        () ->
            fence.write(
                h -> {
                  User user = lockLocalUser(h, userId);
                  Row row = enabledRow(h, user);
                  OptionalLong step = totp(h, row, code);
                  if (step.isEmpty()) {
                    return Optional.<RecoveryCodes>empty();
                  }
                  useStep(h, userId, step.getAsLong());
                  storeRecoveryCodes(h, userId, codes);
                  Map<String, Object> d = details("method", "totp");
                  d.put("recoveryCodes", codes.size());
                  audit(
                      h, Who.of(caller, address), "user.mfa.recovery-codes.regenerate", userId, d);
                  return Optional.of(new RecoveryCodes(codes));
                }));
  }

  // --- for administrators -----------------------------------------------------------------------

  /**
   * Removes a user's authenticator, recovery codes and pending second steps: for a user who lost
   * both. Audited whether or not the user had any.
   *
   * @throws ApiException 404 unknown user
   */
  public void reset(Principal admin, UUID userId, String address) {
    fence.run(
        h -> {
          User user = lockUser(h, userId);
          Optional<Row> before = row(h, userId);
          remove(h, userId);
          Map<String, Object> d = details("user", user.username());
          d.put("wasEnabled", before.map(Row::confirmed).orElse(false));
          audit(h, Who.of(admin, address), "user.mfa.reset", userId, d);
        });
  }

  public Status status(UUID userId) {
    return fence.read(h -> status(h, userId));
  }

  /** Every user's status; users without any are absent. */
  public Map<UUID, Status> statuses() {
    return fence.read(
        h -> {
          Map<UUID, Integer> left = new HashMap<>();
          h.createQuery(
                  "SELECT user_id, COUNT(*) AS n FROM user_mfa_recovery_codes GROUP BY user_id")
              .map((rs, c) -> left.put(rs.getObject("user_id", UUID.class), rs.getInt("n")))
              .list();
          Map<UUID, Status> out = new HashMap<>();
          h.createQuery("SELECT user_id FROM user_mfa WHERE confirmed = TRUE")
              .mapTo(UUID.class)
              .forEach(id -> out.put(id, new Status(true, left.getOrDefault(id, 0))));
          return out;
        });
  }

  // --- for sign-in ------------------------------------------------------------------------------

  /** Whether the user must give a second factor to sign in. */
  boolean enabled(UUID userId) {
    return fence.read(h -> enabled(h, userId));
  }

  /**
   * Whether {@code user} is an administrator who signs in with a Vigil password, has no second
   * factor, and the site requires one: such a user's tokens carry no roles until it enrols.
   */
  boolean enrolmentRequired(User user) {
    if (user.provider() != null || !user.effectiveRoles().contains(Role.ADMINISTRATOR.id())) {
      return false;
    }
    return fence.read(
        h ->
            h.createQuery("SELECT require_mfa_for_administrators FROM site_settings WHERE id = 1")
                    .mapTo(Boolean.class)
                    .findOne()
                    .orElse(false)
                && !enabled(h, user.id()));
  }

  /**
   * Checks a sign-in's second factor: a current TOTP code or an unused recovery code (used up).
   *
   * @param knownAddress whether the user signed in from {@code address} before (see {@link
   *     LoginThrottle})
   * @return the factor, or empty when the code is wrong
   * @throws Throttled when too many wrong codes came before
   */
  Optional<Factor> verifySignIn(User user, String code, String address, boolean knownAddress) {
    Who who = new Who(user.username(), user.id().toString(), address);
    return attempt(
        user.username(),
        address,
        knownAddress,
        () ->
            fence.write(
                h -> {
                  Optional<Row> row = row(h, user.id()).filter(Row::confirmed);
                  return row.isEmpty() ? Optional.<Factor>empty() : check(h, row.get(), code, who);
                }));
  }

  // --- internals --------------------------------------------------------------------------------

  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: the array is a carrier
  private record Row(UUID userId, byte[] secret, boolean confirmed, long lastUsedStep) {}

  /** The user's authenticator row, locked. */
  private static Optional<Row> row(Handle h, UUID userId) {
    return h.createQuery(
            "SELECT secret_protected, confirmed, last_used_step FROM user_mfa WHERE user_id = :id"
                + " FOR UPDATE")
        .bind("id", userId)
        .map(
            (rs, c) ->
                new Row(
                    userId,
                    rs.getBytes("secret_protected"),
                    rs.getBoolean("confirmed"),
                    rs.getLong("last_used_step")))
        .findOne();
  }

  private static Row enabledRow(Handle h, User user) {
    return row(h, user.id())
        .filter(Row::confirmed)
        .orElseThrow(
            () ->
                ApiException.conflict(
                    "mfa_not_enabled",
                    "User \""
                        + user.username()
                        + "\" has no multi-factor sign-in. Enrol with POST /api/v1/me/mfa/totp."));
  }

  private static boolean enabled(Handle h, UUID userId) {
    return h.createQuery("SELECT COUNT(*) FROM user_mfa WHERE user_id = :id AND confirmed = TRUE")
            .bind("id", userId)
            .mapTo(Long.class)
            .one()
        > 0;
  }

  private static Status status(Handle h, UUID userId) {
    if (!enabled(h, userId)) {
      return new Status(false, 0);
    }
    long left =
        h.createQuery("SELECT COUNT(*) FROM user_mfa_recovery_codes WHERE user_id = :id")
            .bind("id", userId)
            .mapTo(Long.class)
            .one();
    return new Status(true, (int) left);
  }

  /** The step a current TOTP code is for, by the database clock, if it is right and unused. */
  private OptionalLong totp(Handle h, Row row, String code) {
    String c = code == null ? "" : code.strip();
    if (!Totp.looksLikeCode(c)) {
      return OptionalLong.empty();
    }
    Instant now =
        h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant();
    byte[] secret = protector.unprotect(SECRET_PURPOSE, row.secret());
    try {
      return Totp.verify(secret, c, now, row.lastUsedStep());
    } finally {
      java.util.Arrays.fill(secret, (byte) 0);
    }
  }

  /**
   * A TOTP code (its step then stored) or a recovery code (then used up, and audited); the row is
   * locked by the caller.
   */
  private Optional<Factor> check(Handle h, Row row, String code, Who who) {
    String c = code == null ? "" : code.strip();
    if (Totp.looksLikeCode(c)) {
      OptionalLong step = totp(h, row, c);
      if (step.isEmpty()) {
        return Optional.empty();
      }
      UUID userId = UUID.fromString(who.id());
      useStep(h, userId, step.getAsLong());
      return Optional.of(Factor.TOTP);
    }
    String normalized = normalizeRecoveryCode(c);
    if (normalized == null) {
      return Optional.empty();
    }
    UUID userId = UUID.fromString(who.id());
    int deleted =
        h.createUpdate(
                "DELETE FROM user_mfa_recovery_codes WHERE user_id = :id AND code_hash = :hash")
            .bind("id", userId)
            .bind("hash", Secrets.sha256(normalized))
            .execute();
    if (deleted == 0) {
      return Optional.empty();
    }
    long left =
        h.createQuery("SELECT COUNT(*) FROM user_mfa_recovery_codes WHERE user_id = :id")
            .bind("id", userId)
            .mapTo(Long.class)
            .one();
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("recoveryCodesLeft", left);
    audit(h, who, "user.mfa.recovery-code.used", userId, d);
    return Optional.of(Factor.RECOVERY_CODE);
  }

  private static void useStep(Handle h, UUID userId, long step) {
    h.createUpdate("UPDATE user_mfa SET last_used_step = :step WHERE user_id = :id")
        .bind("step", step)
        .bind("id", userId)
        .execute();
  }

  private static void remove(Handle h, UUID userId) {
    for (String table : List.of("user_mfa", "user_mfa_recovery_codes", "mfa_signin_states")) {
      h.createUpdate("DELETE FROM " + table + " WHERE user_id = :id").bind("id", userId).execute();
    }
  }

  private static void storeRecoveryCodes(Handle h, UUID userId, List<String> codes) {
    h.createUpdate("DELETE FROM user_mfa_recovery_codes WHERE user_id = :id")
        .bind("id", userId)
        .execute();
    for (String code : codes) {
      h.createUpdate("INSERT INTO user_mfa_recovery_codes (user_id, code_hash) VALUES (:id, :hash)")
          .bind("id", userId)
          .bind("hash", Secrets.sha256(normalizeRecoveryCode(code)))
          .execute();
    }
  }

  /** Ten codes like {@code K7QW-M2XD-9PLA-Z4RT}: 80 random bits each, base32, in groups of four. */
  private static List<String> newRecoveryCodes() {
    List<String> codes = new ArrayList<>();
    while (codes.size() < RECOVERY_CODES) {
      byte[] bytes = new byte[RECOVERY_CODE_LENGTH * 5 / 8];
      RANDOM.nextBytes(bytes);
      String raw = Base32.encode(bytes);
      String code =
          String.join(
              "-",
              raw.substring(0, 4),
              raw.substring(4, 8),
              raw.substring(8, 12),
              raw.substring(12));
      if (!codes.contains(code)) {
        codes.add(code);
      }
    }
    return codes;
  }

  /**
   * A recovery code as stored: upper case without separators; null when it cannot be one. Case,
   * spaces and hyphens do not matter, since people copy these from paper.
   */
  static String normalizeRecoveryCode(String code) {
    String s = code.replace("-", "").replace(" ", "").toUpperCase(Locale.ROOT);
    if (s.length() != RECOVERY_CODE_LENGTH) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) {
        return null;
      }
    }
    return s;
  }

  static String otpauthUri(String username, String secret) {
    return "otpauth://totp/"
        + ISSUER
        + ":"
        + URLEncoder.encode(username, StandardCharsets.UTF_8).replace("+", "%20")
        + "?secret="
        + secret
        + "&issuer="
        + ISSUER;
  }

  /**
   * Runs a code check for the API under the throttle.
   *
   * @throws ApiException 400 {@code invalid_code} when the check found the code wrong, 429 {@code
   *     too_many_attempts} when the throttle refused it
   */
  private <R> R guarded(String username, String address, Supplier<Optional<R>> check) {
    try {
      return attempt(username, address, true, check)
          .orElseThrow(
              () ->
                  ApiException.badRequest(
                      "invalid_code",
                      "The code is wrong, already used, or too old: give the current 6-digit code"
                          + " from the authenticator app"
                          + " (or, where allowed, an unused recovery code)."));
    } catch (Throttled t) {
      throw new ApiException(429, "too_many_attempts", t.getMessage());
    }
  }

  /** Reserves a throttled attempt, runs the check, and ends the attempt by its outcome. */
  private <R> Optional<R> attempt(
      String username, String address, boolean knownAddress, Supplier<Optional<R>> check) {
    LoginThrottle.Attempt attempt =
        switch (throttle.reserve(username, address, knownAddress)) {
          case LoginThrottle.Refusal r -> throw new Throttled(r.reason(), r.retryAfter());
          case LoginThrottle.Attempt a -> a;
        };
    Optional<R> result;
    try {
      result = check.get();
    } catch (RuntimeException e) {
      throttle.released(attempt);
      throw e;
    }
    if (result.isPresent()) {
      throttle.succeeded(attempt);
    } else {
      throttle.failed(attempt);
    }
    return result;
  }

  private static UUID self(Principal caller) {
    if (caller.actsForItself()) {
      throw ApiException.forbidden(
          "Client \""
              + caller.clientId()
              + "\" acts for itself and has no multi-factor sign-in; these routes are for users"
              + " signed in as themselves.");
    }
    return UUID.fromString(caller.subject());
  }

  private static User lockUser(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM users WHERE id = :id FOR UPDATE")
        .bind("id", id)
        .map(UserService::map)
        .findOne()
        .orElseThrow(() -> ApiException.notFound("User", id.toString()));
  }

  private static User lockLocalUser(Handle h, UUID id) {
    User user = lockUser(h, id);
    if (user.provider() != null) {
      throw ApiException.conflict(
          "external_user",
          "User \""
              + user.username()
              + "\" signs in with identity provider \""
              + user.provider()
              + "\", which decides its second factor; Vigil's multi-factor sign-in is for users"
              + " with a Vigil password.");
    }
    return user;
  }

  private static void audit(Handle h, Who who, String action, UUID userId, Object details) {
    AuditLog.recordEvent(
        h,
        who.name(),
        who.id(),
        who.address(),
        action,
        UserService.TYPE,
        userId.toString(),
        details);
  }

  private static Map<String, Object> details(String key, Object value) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put(key, value);
    return map;
  }
}
