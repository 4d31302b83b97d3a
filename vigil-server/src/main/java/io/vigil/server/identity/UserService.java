package io.vigil.server.identity;

import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The identity provider's users. Every change runs in one fenced transaction together with its
 * audit entry; changes are guarded by the user's {@code version} (optimistic concurrency), and the
 * last enabled administrator can be neither deleted, disabled nor demoted (the rows of all enabled
 * administrators are locked while that is checked, so two concurrent removals cannot both pass).
 *
 * <p>User names are unique regardless of case (a unique lower-cased column decides races).
 */
public final class UserService {

  /**
   * Password hash and user, for signing in.
   *
   * @param knownAddress whether the user signed in from the address asked about before
   */
  record Login(User user, String passwordHash, boolean knownAddress) {}

  /** How many addresses are remembered per user: the most recent ones it signed in from. */
  static final int KNOWN_ADDRESSES = 10;

  /** The fields {@code PATCH} may change; null leaves a field as it is. */
  public record Changes(String displayName, List<String> roles, Boolean enabled) {}

  private static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
  static final String TYPE = "user";

  private final Fence fence;
  private final PasswordHasher hasher;
  private final Clock clock;

  public UserService(Fence fence, PasswordHasher hasher, Clock clock) {
    this.fence = fence;
    this.hasher = hasher;
    this.clock = clock;
  }

  public List<User> list() {
    return fence.read(
        h -> {
          Map<UUID, List<User.RuleGrant>> grants = new HashMap<>();
          h.createQuery(GRANTS_SQL + " ORDER BY r.provider, r.claim, r.claim_value, r.role")
              .map(
                  (rs, c) -> {
                    grants
                        .computeIfAbsent(
                            rs.getObject("user_id", UUID.class), k -> new ArrayList<>())
                        .add(grant(rs));
                    return null;
                  })
              .list();
          return h
              .createQuery("SELECT * FROM users ORDER BY username_key")
              .map(UserService::map)
              .list()
              .stream()
              .map(u -> u.withGrants(grants.getOrDefault(u.id(), List.of())))
              .toList();
        });
  }

  public Optional<User> find(UUID id) {
    return fence.read(h -> find(h, id));
  }

  /** The user, read in the caller's transaction. */
  Optional<User> find(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM users WHERE id = :id")
        .bind("id", id)
        .map(UserService::map)
        .findOne()
        .map(u -> withGrants(h, u));
  }

  /**
   * The user named {@code username} (in any case), if any, and whether it signed in from {@code
   * address} before. Both questions are asked whether or not the user exists, so the time this
   * takes does not tell.
   */
  Optional<Login> login(String username, String address) {
    String key = username.toLowerCase(Locale.ROOT);
    return fence.read(
        h -> {
          boolean known =
              h.createQuery(
                          "SELECT COUNT(*) FROM user_known_addresses k JOIN users u ON u.id ="
                              + " k.user_id WHERE u.username_key = :key AND k.address = :address")
                      .bind("key", key)
                      .bind("address", address)
                      .mapTo(Long.class)
                      .one()
                  > 0;
          return h.createQuery("SELECT * FROM users WHERE username_key = :key")
              .bind("key", key)
              .map((rs, c) -> new Login(map(rs, c), rs.getString("password_hash"), known))
              .findOne()
              .map(l -> new Login(withGrants(h, l.user()), l.passwordHash(), known));
        });
  }

  /**
   * Remembers that {@code userId} signed in from {@code address}, in the caller's transaction, by
   * the database clock; only the {@link #KNOWN_ADDRESSES} most recent addresses are kept.
   */
  static void rememberAddress(Handle h, UUID userId, String address) {
    int updated =
        h.createUpdate(
                "UPDATE user_known_addresses SET last_signed_in_at = CURRENT_TIMESTAMP WHERE"
                    + " user_id = :user AND address = :address")
            .bind("user", userId)
            .bind("address", address)
            .execute();
    if (updated == 0) {
      // Two sign-ins of one user from one new address at once: the user row's lock orders them,
      // so the second finds the first's row instead of failing on the primary key.
      h.createQuery("SELECT id FROM users WHERE id = :user FOR UPDATE")
          .bind("user", userId)
          .mapTo(UUID.class)
          .findOne();
      h.createUpdate(
              "INSERT INTO user_known_addresses (user_id, address, last_signed_in_at) SELECT"
                  + " :user, :address, CURRENT_TIMESTAMP FROM users u WHERE u.id = :user AND NOT"
                  + " EXISTS (SELECT 1 FROM user_known_addresses k WHERE k.user_id = :user AND"
                  + " k.address = :address)")
          .bind("user", userId)
          .bind("address", address)
          .execute();
    }
    h.createUpdate(
            "DELETE FROM user_known_addresses WHERE user_id = :user AND address NOT IN (SELECT"
                + " k.address FROM user_known_addresses k WHERE k.user_id = :user ORDER BY"
                + " k.last_signed_in_at DESC, k.address LIMIT "
                + KNOWN_ADDRESSES
                + ")")
        .bind("user", userId)
        .execute();
  }

  private static final String GRANTS_SQL =
      "SELECT g.user_id, r.id, r.role, r.claim, r.claim_value, r.provider FROM user_rule_roles g"
          + " JOIN identity_claim_rules r ON r.id = g.rule_id";

  private static User.RuleGrant grant(ResultSet rs) throws SQLException {
    return new User.RuleGrant(
        rs.getObject("id", UUID.class),
        rs.getString("role"),
        rs.getString("claim"),
        rs.getString("claim_value"));
  }

  private static User withGrants(Handle h, User user) {
    return user.withGrants(
        h.createQuery(
                GRANTS_SQL
                    + " WHERE g.user_id = :id ORDER BY r.provider, r.claim, r.claim_value, r.role")
            .bind("id", user.id())
            .map((rs, c) -> grant(rs))
            .list());
  }

  /**
   * Signs in a user vouched for by an external provider: creates it on first sign-in (no password,
   * linked by provider and subject), otherwise updates its user name and display name from the
   * provider, and replaces the roles claim rules granted with those of {@code ruleIds} (roles given
   * directly stay). One fenced transaction; audited when something changed.
   *
   * @param ruleIds the rules that matched; a rule deleted meanwhile grants nothing
   * @throws ApiException 409 {@code username_taken} when another user has the name, 403 {@code
   *     user_disabled} when the linked user is disabled
   */
  public User signInExternal(
      String provider, String subject, String username, String displayName, List<UUID> ruleIds) {
    String display =
        io.vigil.server.http.Text.length(displayName) > 200
                || io.vigil.server.http.Text.notPrintable(displayName) != null
            ? username
            : displayName;
    for (int attempt = 0; ; attempt++) {
      try {
        return fence.write(
            h -> {
              Optional<User> linked =
                  h.createQuery(
                          "SELECT * FROM users WHERE external_provider = :p AND external_subject ="
                              + " :s FOR UPDATE")
                      .bind("p", provider)
                      .bind("s", subject)
                      .map(UserService::map)
                      .findOne()
                      .map(u -> withGrants(h, u));
              if (linked.isPresent() && !linked.get().enabled()) {
                throw new ApiException(
                    403,
                    "user_disabled",
                    "User \""
                        + linked.get().username()
                        + "\" is disabled; ask an administrator to enable it.");
              }
              boolean nameTaken =
                  h.createQuery("SELECT id FROM users WHERE username_key = :key")
                      .bind("key", username.toLowerCase(Locale.ROOT))
                      .mapTo(UUID.class)
                      .findOne()
                      .filter(id -> linked.map(u -> !u.id().equals(id)).orElse(true))
                      .isPresent();
              if (nameTaken) {
                throw ApiException.conflict(
                    "username_taken",
                    "The user name \""
                        + username
                        + "\" from identity provider \""
                        + provider
                        + "\" already belongs to another Vigil user, so it cannot sign in this"
                        + " way. An administrator can rename or remove that user, or choose"
                        + " another user-name claim for the provider.");
              }
              Instant now = now();
              User before = linked.orElse(null);
              UUID id;
              if (before == null) {
                id = UUID.randomUUID();
                h.createUpdate(
                        "INSERT INTO users (id, username, username_key, display_name, roles,"
                            + " password_hash, enabled, version, created_at, updated_at,"
                            + " external_provider, external_subject) VALUES (:id, :username, :key,"
                            + " :display, '', NULL, TRUE, 1, :now, :now, :p, :s)")
                    .bind("id", id)
                    .bind("username", username)
                    .bind("key", username.toLowerCase(Locale.ROOT))
                    .bind("display", display)
                    .bind("now", Timestamp.from(now))
                    .bind("p", provider)
                    .bind("s", subject)
                    .execute();
              } else {
                id = before.id();
              }
              h.createUpdate("DELETE FROM user_rule_roles WHERE user_id = :id")
                  .bind("id", id)
                  .execute();
              for (UUID rule : ruleIds) {
                h.createUpdate(
                        "INSERT INTO user_rule_roles (user_id, rule_id) SELECT :id, r.id FROM"
                            + " identity_claim_rules r WHERE r.id = :rule AND r.provider = :p")
                    .bind("id", id)
                    .bind("rule", rule)
                    .bind("p", provider)
                    .execute();
              }
              User current =
                  withGrants(
                      h,
                      h.createQuery("SELECT * FROM users WHERE id = :id")
                          .bind("id", id)
                          .map(UserService::map)
                          .one());
              if (before == null) {
                AuditLog.record(
                    h, actor(current), "user.create", TYPE, id.toString(), null, current);
                return current;
              }
              boolean renamed =
                  !before.username().equals(username) || !before.displayName().equals(display);
              if (!renamed && before.ruleGrants().equals(current.ruleGrants())) {
                return current;
              }
              h.createUpdate(
                      "UPDATE users SET username = :username, username_key = :key, display_name ="
                          + " :display, version = version + 1, updated_at = :now WHERE id = :id")
                  .bind("username", username)
                  .bind("key", username.toLowerCase(Locale.ROOT))
                  .bind("display", display)
                  .bind("now", Timestamp.from(now))
                  .bind("id", id)
                  .execute();
              User after =
                  new User(
                      id,
                      username,
                      display,
                      before.roles(),
                      true,
                      before.version() + 1,
                      before.createdAt(),
                      now,
                      provider,
                      current.ruleGrants());
              AuditLog.record(
                  h, actor(after), "user.external.update", TYPE, id.toString(), before, after);
              return after;
            });
      } catch (UnableToExecuteStatementException e) {
        // Two first sign-ins of one person at once: the loser finds the winner's row next time.
        if (attempt == 0 && isUniqueViolation(e)) {
          continue;
        }
        if (isUniqueViolation(e)) {
          throw duplicate(username);
        }
        throw e;
      }
    }
  }

  /** The audit actor of an external sign-in: the user itself, through its provider. */
  private static Principal actor(User user) {
    return new Principal(
        user.id().toString(),
        user.username() + " (via " + user.provider() + ")",
        ClientService.CONSOLE,
        java.util.Set.of(),
        java.util.Set.of());
  }

  /**
   * Creates a user.
   *
   * @throws ApiException 400 for an invalid name, role or password; 409 {@code duplicate} when the
   *     name is taken (in any case)
   */
  public User create(
      Principal actor, String username, String displayName, String password, List<String> roles) {
    validateUsername(username);
    List<String> roleIds = validateRoles(roles);
    String display = validateDisplayName(displayName == null ? username : displayName);
    checkPassword(password);
    String hash = hasher.hash(password);
    try {
      return fence.write(
          h -> {
            if (exists(h, username)) {
              throw duplicate(username);
            }
            User user = insert(h, username, display, hash, roleIds);
            AuditLog.record(h, actor, "user.create", TYPE, user.id().toString(), null, user);
            return user;
          });
    } catch (UnableToExecuteStatementException e) {
      // Another request created the same name between our check and our insert.
      if (isUniqueViolation(e)) {
        throw duplicate(username);
      }
      throw e;
    }
  }

  static boolean isUniqueViolation(UnableToExecuteStatementException e) {
    return e.getCause() instanceof SQLException sql && "23505".equals(sql.getSQLState());
  }

  /**
   * A password hash for {@link #bootstrapAdmin}, computed before its transaction opens: 600,000
   * PBKDF2 iterations can outlast the fenced transaction's idle timeout on a busy machine.
   */
  String hashForBootstrap(String password) {
    return hasher.hash(password);
  }

  /** Creates the first administrator when there is no user at all; inside the bootstrap lock. */
  boolean bootstrapAdmin(Handle h, Principal system, String password, String passwordHash) {
    long users = h.createQuery("SELECT COUNT(*) FROM users").mapTo(Long.class).one();
    if (users > 0) {
      return false;
    }
    // Null when the caller saw users before the transaction; they cannot all have gone since.
    String hash = passwordHash != null ? passwordHash : hasher.hash(password);
    User admin = insert(h, "admin", "Administrator", hash, List.of(Role.ADMINISTRATOR.id()));
    AuditLog.record(h, system, "user.create", TYPE, admin.id().toString(), null, admin);
    return true;
  }

  /**
   * Applies {@code changes} if the user is still at {@code expectedVersion}.
   *
   * @throws ApiException 404 unknown user, 409 {@code version_conflict} when it changed since, 409
   *     {@code last_administrator} when the change would leave no enabled administrator
   */
  public User update(Principal actor, UUID id, long expectedVersion, Changes changes) {
    List<String> roles = changes.roles() == null ? null : validateRoles(changes.roles());
    String display =
        changes.displayName() == null ? null : validateDisplayName(changes.displayName());
    return fence.write(
        h -> {
          List<UUID> admins = lockEnabledAdministrators(h);
          User before = lock(h, id);
          if (before.version() != expectedVersion) {
            throw versionConflict(before, expectedVersion);
          }
          User after =
              new User(
                  id,
                  before.username(),
                  display != null ? display : before.displayName(),
                  roles != null ? roles : before.roles(),
                  changes.enabled() != null ? changes.enabled() : before.enabled(),
                  before.version() + 1,
                  before.createdAt(),
                  now(),
                  before.provider(),
                  before.ruleGrants());
          boolean stillAdmin = after.enabled() && after.roles().contains(Role.ADMINISTRATOR.id());
          if (!stillAdmin && admins.equals(List.of(id))) {
            throw lastAdministrator(before, "disabled or lose the administrator role");
          }
          h.createUpdate(
                  "UPDATE users SET display_name = :display, roles = :roles, enabled = :enabled,"
                      + " version = version + 1, updated_at = :now WHERE id = :id AND version ="
                      + " :version")
              .bind("display", after.displayName())
              .bind("roles", String.join(",", after.roles()))
              .bind("enabled", after.enabled())
              .bind("now", Timestamp.from(after.updatedAt()))
              .bind("id", id)
              .bind("version", expectedVersion)
              .execute();
          if (!after.enabled()) {
            RefreshTokens.revokeUser(h, id);
          }
          AuditLog.record(h, actor, "user.update", TYPE, id.toString(), before, after);
          return after;
        });
  }

  /** Sets a new password and revokes the user's refresh tokens (sessions elsewhere end). */
  public User setPassword(Principal actor, UUID id, String password) {
    checkPassword(password);
    String hash = hasher.hash(password);
    return fence.write(
        h -> {
          User before = lock(h, id);
          if (before.provider() != null) {
            throw ApiException.conflict(
                "external_user",
                "User \""
                    + before.username()
                    + "\" signs in with identity provider \""
                    + before.provider()
                    + "\" and has no Vigil password to set.");
          }
          Instant now = now();
          h.createUpdate(
                  "UPDATE users SET password_hash = :hash, version = version + 1, updated_at = :now"
                      + " WHERE id = :id")
              .bind("hash", hash)
              .bind("now", Timestamp.from(now))
              .bind("id", id)
              .execute();
          RefreshTokens.revokeUser(h, id);
          User after =
              new User(
                  id,
                  before.username(),
                  before.displayName(),
                  before.roles(),
                  before.enabled(),
                  before.version() + 1,
                  before.createdAt(),
                  now,
                  before.provider(),
                  before.ruleGrants());
          AuditLog.record(h, actor, "user.password", TYPE, id.toString(), before, after);
          return after;
        });
  }

  /**
   * Records that {@code actor} lifted the sign-in delays {@code cleared} of user {@code id}.
   *
   * @throws ApiException 404 when the user does not exist
   */
  public void recordSignInUnlock(Principal actor, UUID id, Object cleared) {
    fence.run(
        h -> {
          lock(h, id);
          AuditLog.record(h, actor, "user.signin.unlock", TYPE, id.toString(), cleared, null);
        });
  }

  /**
   * Deletes a user and its refresh tokens.
   *
   * @throws ApiException 404 unknown, 409 {@code last_administrator}
   */
  public void delete(Principal actor, UUID id) {
    fence.run(
        h -> {
          List<UUID> admins = lockEnabledAdministrators(h);
          User before = lock(h, id);
          if (admins.equals(List.of(id))) {
            throw lastAdministrator(before, "deleted");
          }
          RefreshTokens.revokeUser(h, id);
          h.createUpdate("DELETE FROM users WHERE id = :id").bind("id", id).execute();
          AuditLog.record(h, actor, "user.delete", TYPE, id.toString(), before, null);
        });
  }

  private User insert(Handle h, String username, String display, String hash, List<String> roles) {
    Instant now = now();
    User user = new User(UUID.randomUUID(), username, display, roles, true, 1, now, now);
    h.createUpdate(
            "INSERT INTO users (id, username, username_key, display_name, roles, password_hash,"
                + " enabled, version, created_at, updated_at) VALUES (:id, :username, :key,"
                + " :display, :roles, :hash, TRUE, 1, :now, :now)")
        .bind("id", user.id())
        .bind("username", username)
        .bind("key", username.toLowerCase(Locale.ROOT))
        .bind("display", display)
        .bind("roles", String.join(",", roles))
        .bind("hash", hash)
        .bind("now", Timestamp.from(now))
        .execute();
    return user;
  }

  private static boolean exists(Handle h, String username) {
    return h.createQuery("SELECT COUNT(*) FROM users WHERE username_key = :key")
            .bind("key", username.toLowerCase(Locale.ROOT))
            .mapTo(Long.class)
            .one()
        > 0;
  }

  private static User lock(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM users WHERE id = :id FOR UPDATE")
        .bind("id", id)
        .map(UserService::map)
        .findOne()
        .map(u -> withGrants(h, u))
        .orElseThrow(() -> ApiException.notFound("User", id.toString()));
  }

  private static List<UUID> lockEnabledAdministrators(Handle h) {
    return h
        .createQuery("SELECT * FROM users WHERE enabled = TRUE ORDER BY id FOR UPDATE")
        .map(UserService::map)
        .stream()
        .filter(u -> u.roles().contains(Role.ADMINISTRATOR.id()))
        .map(User::id)
        .toList();
  }

  private Instant now() {
    return clock.instant();
  }

  static User map(ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx)
      throws SQLException {
    String roles = rs.getString("roles");
    return new User(
        rs.getObject("id", UUID.class),
        rs.getString("username"),
        rs.getString("display_name"),
        roles.isEmpty() ? List.of() : Arrays.asList(roles.split(",")),
        rs.getBoolean("enabled"),
        rs.getLong("version"),
        rs.getTimestamp("created_at").toInstant(),
        rs.getTimestamp("updated_at").toInstant(),
        rs.getString("external_provider"),
        List.of());
  }

  static void checkPassword(String password) {
    String problem = PasswordHasher.policyViolation(password);
    if (problem != null) {
      throw ApiException.badRequest("weak_password", problem);
    }
  }

  private static void validateUsername(String username) {
    if (username == null || !USERNAME.matcher(username).matches()) {
      throw ApiException.badRequest(
          "invalid_username",
          "User name \""
              + (username == null ? "" : Text.excerpt(username))
              + "\" is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a"
              + " letter or digit.");
    }
  }

  private static String validateDisplayName(String displayName) {
    String trimmed = displayName.strip();
    if (trimmed.isEmpty() || io.vigil.server.http.Text.length(trimmed) > 200) {
      throw ApiException.badRequest(
          "invalid_display_name", "The display name must have 1-200 characters.");
    }
    String problem = io.vigil.server.http.Text.notPrintable(trimmed);
    if (problem != null) {
      throw ApiException.badRequest(
          "invalid_display_name", "The display name " + problem + "; use plain text.");
    }
    return trimmed;
  }

  static List<String> validateRoles(List<String> roles) {
    if (roles == null) {
      throw ApiException.badRequest(
          "invalid_role",
          "The field \"roles\" is required: give a list of role ids, e.g. [\"operator\"].");
    }
    for (String role : roles) {
      if (role == null || Role.fromId(role).isEmpty()) {
        throw ApiException.badRequest(
            "invalid_role",
            "Unknown role \""
                + role
                + "\". Known roles: "
                + Arrays.stream(Role.values()).map(Role::id).toList()
                + ".");
      }
    }
    return roles.stream().distinct().toList();
  }

  static ApiException duplicate(String username) {
    return ApiException.conflict(
        "duplicate",
        "A user named \""
            + username
            + "\" already exists (user names are compared without case). Choose another name.");
  }

  private static ApiException versionConflict(User current, long expected) {
    return ApiException.conflict(
        "version_conflict",
        "User \""
            + current.username()
            + "\" has changed since version "
            + expected
            + " (it is now at version "
            + current.version()
            + "). Read it again and repeat the change with If-Match: \""
            + current.version()
            + "\".");
  }

  private static ApiException lastAdministrator(User user, String what) {
    return ApiException.conflict(
        "last_administrator",
        "User \""
            + user.username()
            + "\" is the last enabled administrator and cannot be "
            + what
            + ". Give another user the administrator role first.");
  }
}
