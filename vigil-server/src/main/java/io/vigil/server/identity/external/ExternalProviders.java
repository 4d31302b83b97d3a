package io.vigil.server.identity.external;

import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The external providers and their claim rules. Every change runs in one fenced transaction with
 * its audit entry; providers carry a {@code revision} checked against {@code If-Match}. Client
 * secrets are write-only and stored encrypted by the data protector (purpose {@value
 * #SECRET_PURPOSE}); they never appear in a representation, so neither in a response nor in the
 * audit log.
 *
 * <p>Deleting a provider deletes the users it signed in and its rules. Because that cannot be
 * undone, {@link #delete} needs the provider's name repeated as confirmation and otherwise answers
 * 409 {@code confirmation_required} saying how many users and rules would go.
 */
public final class ExternalProviders {

  public static final String SECRET_PURPOSE = "identity.external.client-secret";
  static final String TYPE = "identity_provider";
  static final String RULE_TYPE = "identity_claim_rule";
  public static final String DEFAULT_CALLBACK_PATH = "/signin-oidc";
  public static final List<String> DEFAULT_SCOPES = List.of("openid", "profile", "email");
  public static final String DEFAULT_USER_NAME_CLAIM = "preferred_username";

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  private static final Pattern CALLBACK = Pattern.compile("/[A-Za-z0-9._~-]{1,100}");
  private static final Pattern SCOPE_TOKEN =
      Pattern.compile("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,100}");
  private static final Pattern CLAIM = Pattern.compile("[A-Za-z0-9_.:/-]{1,200}");
  private static final Pattern HEX40 = Pattern.compile("[0-9A-F]{40}");

  /** First path segments that belong to the node itself and cannot be a callback path. */
  static final Set<String> RESERVED_SEGMENTS =
      Set.of("api", "idp", "health", "metrics", "cluster", "console");

  /** A provider to create; null fields take their defaults. */
  public record Definition(
      String name,
      String displayName,
      String authority,
      String clientId,
      String clientAuthentication,
      String clientSecret,
      String certificateThumbprint,
      String callbackPath,
      List<String> scopes,
      String userNameClaim,
      Boolean promptForLogin,
      Boolean enabled) {}

  /** The fields a change may set; null leaves a field as it is. The name never changes. */
  public record Change(
      String displayName,
      String authority,
      String clientId,
      String clientAuthentication,
      String clientSecret,
      String certificateThumbprint,
      String callbackPath,
      List<String> scopes,
      String userNameClaim,
      Boolean promptForLogin,
      Boolean enabled) {}

  private final Fence fence;
  private final DataProtector protector;
  private final Clock clock;
  private final String redirectBase;

  /**
   * @param redirectBase the origin the provider sends browsers back to, e.g. {@code
   *     https://vigil.example.com}; a provider's redirect URI is this plus its callback path
   */
  public ExternalProviders(Fence fence, DataProtector protector, Clock clock, String redirectBase) {
    this.fence = fence;
    this.protector = protector;
    this.clock = clock;
    this.redirectBase = redirectBase;
  }

  // --- providers --------------------------------------------------------------------------------

  public List<ExternalProvider> list() {
    return fence.read(
        h -> h.createQuery("SELECT * FROM identity_providers ORDER BY name").map(this::map).list());
  }

  /** The enabled providers, for the sign-in page, in display order. */
  public List<ExternalProvider> enabled() {
    return list().stream()
        .filter(ExternalProvider::enabled)
        .sorted(
            (a, b) ->
                a.displayName().compareToIgnoreCase(b.displayName()) != 0
                    ? a.displayName().compareToIgnoreCase(b.displayName())
                    : a.name().compareTo(b.name()))
        .toList();
  }

  public Optional<ExternalProvider> find(String name) {
    return fence.read(h -> find(h, name));
  }

  public ExternalProvider get(String name) {
    return find(name).orElseThrow(() -> notFound(name));
  }

  /** Whether some provider uses {@code path} as its callback path. */
  public boolean isCallbackPath(String path) {
    return fence.read(
        h ->
            h.createQuery("SELECT COUNT(*) FROM identity_providers WHERE callback_path = :path")
                    .bind("path", path)
                    .mapTo(Long.class)
                    .one()
                > 0);
  }

  /** The provider's client secret in the clear, for the token request; empty when it has none. */
  Optional<String> clientSecret(String name) {
    byte[] sealed =
        fence.read(
            h ->
                h.createQuery(
                        "SELECT client_secret_protected FROM identity_providers WHERE name = :name")
                    .bind("name", name)
                    .mapTo(byte[].class)
                    .findOne()
                    .orElse(null));
    return sealed == null
        ? Optional.empty()
        : Optional.of(
            new String(protector.unprotect(SECRET_PURPOSE, sealed), StandardCharsets.UTF_8));
  }

  /**
   * Creates a provider.
   *
   * @throws ApiException 400 for a missing or invalid field, 409 {@code duplicate_name}
   */
  public ExternalProvider create(Principal actor, Definition in) {
    String name = name(in.name());
    String display = displayName(in.displayName() == null ? name : in.displayName());
    String authority = authority(in.authority());
    String clientId = clientId(in.clientId());
    String auth =
        clientAuthentication(
            in.clientAuthentication() == null
                ? ExternalProvider.CLIENT_SECRET_BASIC
                : in.clientAuthentication());
    String callback =
        callbackPath(in.callbackPath() == null ? DEFAULT_CALLBACK_PATH : in.callbackPath());
    List<String> scopes = scopes(in.scopes() == null ? DEFAULT_SCOPES : in.scopes());
    String claim =
        claim(
            "userNameClaim",
            in.userNameClaim() == null ? DEFAULT_USER_NAME_CLAIM : in.userNameClaim());
    byte[] secret = null;
    String thumbprint = null;
    if (ExternalProvider.PRIVATE_KEY_JWT.equals(auth)) {
      if (in.clientSecret() != null) {
        throw ApiException.badRequest(
            "invalid_value",
            "Field \"clientSecret\" does not apply to private_key_jwt, which signs with the"
                + " certificate named by \"certificateThumbprint\"; leave it out.");
      }
      thumbprint = thumbprint(required("certificateThumbprint", in.certificateThumbprint()));
    } else {
      if (in.certificateThumbprint() != null) {
        throw ApiException.badRequest(
            "invalid_value",
            "Field \"certificateThumbprint\" applies only to private_key_jwt; "
                + auth
                + " authenticates with \"clientSecret\".");
      }
      secret = sealSecret(required("clientSecret", in.clientSecret()));
    }
    Instant now = clock.instant();
    byte[] sealed = secret;
    String cert = thumbprint;
    try {
      return fence.write(
          h -> {
            if (find(h, name).isPresent()) {
              throw duplicate(name);
            }
            h.createUpdate(
                    "INSERT INTO identity_providers (name, display_name, authority, client_id,"
                        + " client_auth, client_secret_protected, certificate_thumbprint,"
                        + " callback_path, scopes, user_name_claim, prompt_login, enabled, revision,"
                        + " created_at, updated_at) VALUES (:name, :display, :authority, :clientId,"
                        + " :auth, :secret, :cert, :callback, :scopes, :claim, :prompt, :enabled, 1,"
                        + " :now, :now)")
                .bind("name", name)
                .bind("display", display)
                .bind("authority", authority)
                .bind("clientId", clientId)
                .bind("auth", auth)
                .bindByType("secret", sealed, byte[].class)
                .bindByType("cert", cert, String.class)
                .bind("callback", callback)
                .bind("scopes", String.join(" ", scopes))
                .bind("claim", claim)
                .bind("prompt", Boolean.TRUE.equals(in.promptForLogin()))
                .bind("enabled", in.enabled() == null || in.enabled())
                .bind("now", Timestamp.from(now))
                .execute();
            ExternalProvider created = find(h, name).orElseThrow();
            AuditLog.record(h, actor, "identity.provider.create", TYPE, name, null, created);
            return created;
          });
    } catch (UnableToExecuteStatementException e) {
      if (Sql.isUniqueViolation(e)) {
        throw duplicate(name);
      }
      throw e;
    }
  }

  /**
   * Applies a change if the provider is still at {@code expectedRevision}.
   *
   * @throws ApiException 404 unknown, 409 {@code version_conflict}, 400 invalid field
   */
  public ExternalProvider update(
      Principal actor, String name, long expectedRevision, Change change) {
    String display = change.displayName() == null ? null : displayName(change.displayName());
    String authority = change.authority() == null ? null : authority(change.authority());
    String clientId = change.clientId() == null ? null : clientId(change.clientId());
    String auth =
        change.clientAuthentication() == null
            ? null
            : clientAuthentication(change.clientAuthentication());
    String callback = change.callbackPath() == null ? null : callbackPath(change.callbackPath());
    List<String> scopes = change.scopes() == null ? null : scopes(change.scopes());
    String claim =
        change.userNameClaim() == null ? null : claim("userNameClaim", change.userNameClaim());
    String thumbprint =
        change.certificateThumbprint() == null ? null : thumbprint(change.certificateThumbprint());
    byte[] newSecret = change.clientSecret() == null ? null : sealSecret(change.clientSecret());
    return fence.write(
        h -> {
          ExternalProvider before = lock(h, name);
          if (before.revision() != expectedRevision) {
            throw versionConflict(before, expectedRevision);
          }
          String method = auth != null ? auth : before.clientAuthentication();
          boolean keyJwt = ExternalProvider.PRIVATE_KEY_JWT.equals(method);
          if (keyJwt && newSecret != null) {
            throw ApiException.badRequest(
                "invalid_value",
                "Field \"clientSecret\" does not apply to private_key_jwt; set"
                    + " \"clientAuthentication\" to client_secret_basic or client_secret_post to"
                    + " use a secret.");
          }
          if (!keyJwt && thumbprint != null) {
            throw ApiException.badRequest(
                "invalid_value",
                "Field \"certificateThumbprint\" applies only to private_key_jwt; set"
                    + " \"clientAuthentication\" to private_key_jwt to use a certificate.");
          }
          String cert =
              keyJwt ? (thumbprint != null ? thumbprint : before.certificateThumbprint()) : null;
          if (keyJwt && cert == null) {
            throw ApiException.badRequest(
                "missing_field",
                "Field \"certificateThumbprint\" is required for private_key_jwt: the SHA-1"
                    + " thumbprint of a certificate in the node's personal store.");
          }
          if (!keyJwt && newSecret == null && !before.clientSecretSet()) {
            throw ApiException.badRequest(
                "missing_field",
                "Field \"clientSecret\" is required for " + method + ": no secret is stored yet.");
          }
          StringBuilder sql =
              new StringBuilder("UPDATE identity_providers SET revision = revision + 1");
          Map<String, Object> values = new LinkedHashMap<>();
          put(values, "display_name", display);
          put(values, "authority", authority);
          put(values, "client_id", clientId);
          put(values, "client_auth", auth);
          put(values, "callback_path", callback);
          put(values, "scopes", scopes == null ? null : String.join(" ", scopes));
          put(values, "user_name_claim", claim);
          put(values, "prompt_login", change.promptForLogin());
          put(values, "enabled", change.enabled());
          values.keySet().forEach(c -> sql.append(", ").append(c).append(" = :").append(c));
          sql.append(", certificate_thumbprint = :cert");
          if (keyJwt) {
            sql.append(", client_secret_protected = NULL");
          } else if (newSecret != null) {
            sql.append(", client_secret_protected = :secret");
          }
          sql.append(", updated_at = :now WHERE name = :name");
          var update = h.createUpdate(sql.toString());
          values.forEach(update::bind);
          update.bindByType("cert", cert, String.class);
          if (!keyJwt && newSecret != null) {
            update.bind("secret", newSecret);
          }
          update.bind("now", Timestamp.from(clock.instant())).bind("name", name).execute();
          ExternalProvider after = find(h, name).orElseThrow();
          AuditLog.record(h, actor, "identity.provider.update", TYPE, name, before, after);
          return after;
        });
  }

  /** How many users and rules a deletion would remove. */
  public record Dependents(long users, long rules) {}

  /**
   * Deletes a provider, the users it signed in (with their refresh tokens) and its rules.
   *
   * @param confirm must equal {@code name}; otherwise nothing happens and the answer is 409 {@code
   *     confirmation_required} with the counts
   * @throws ApiException 404 unknown, 409 {@code confirmation_required}, 409 {@code
   *     last_administrator} when the provider's users include every enabled administrator
   */
  public Dependents delete(Principal actor, String name, String confirm) {
    return fence.write(
        h -> {
          ExternalProvider before = lock(h, name);
          Dependents counts = dependents(h, name);
          if (!name.equals(confirm)) {
            throw ApiException.conflict(
                "confirmation_required",
                "Deleting provider \""
                    + name
                    + "\" also deletes the "
                    + counts.users()
                    + " user(s) it signed in and its "
                    + counts.rules()
                    + " claim rule(s); this cannot be undone. To go ahead, repeat the request with"
                    + " ?confirm="
                    + name
                    + ".");
          }
          List<Object[]> enabled =
              h.createQuery(
                      "SELECT id, username, roles, external_provider FROM users WHERE enabled ="
                          + " TRUE ORDER BY id FOR UPDATE")
                  .map(
                      (rs, c) ->
                          new Object[] {rs.getString("roles"), rs.getString("external_provider")})
                  .list();
          boolean providerAdmin = false;
          boolean otherAdmin = false;
          for (Object[] u : enabled) {
            boolean admin =
                Arrays.asList(((String) u[0]).split(",")).contains(Role.ADMINISTRATOR.id());
            if (admin && name.equals(u[1])) {
              providerAdmin = true;
            } else if (admin) {
              otherAdmin = true;
            }
          }
          if (providerAdmin && !otherAdmin) {
            throw ApiException.conflict(
                "last_administrator",
                "Provider \""
                    + name
                    + "\" signed in every enabled administrator; deleting it would leave none."
                    + " Give another user the administrator role first.");
          }
          List<Map<String, Object>> users =
              h.createQuery(
                      "SELECT id, username FROM users WHERE external_provider = :name ORDER BY id")
                  .bind("name", name)
                  .map(
                      (rs, c) -> {
                        Map<String, Object> u = new LinkedHashMap<>();
                        u.put("id", rs.getObject("id", UUID.class));
                        u.put("username", rs.getString("username"));
                        u.put("provider", name);
                        return u;
                      })
                  .list();
          for (Map<String, Object> u : users) {
            h.createUpdate("DELETE FROM refresh_tokens WHERE user_id = :id")
                .bind("id", u.get("id"))
                .execute();
            h.createUpdate("DELETE FROM users WHERE id = :id").bind("id", u.get("id")).execute();
            AuditLog.record(h, actor, "user.delete", "user", u.get("id").toString(), u, null);
          }
          h.createUpdate("DELETE FROM external_signin_states WHERE provider = :name")
              .bind("name", name)
              .execute();
          h.createUpdate("DELETE FROM identity_claim_rules WHERE provider = :name")
              .bind("name", name)
              .execute();
          h.createUpdate("DELETE FROM identity_providers WHERE name = :name")
              .bind("name", name)
              .execute();
          Map<String, Object> removed = new LinkedHashMap<>();
          removed.put("users", counts.users());
          removed.put("rules", counts.rules());
          AuditLog.record(h, actor, "identity.provider.delete", TYPE, name, before, removed);
          return counts;
        });
  }

  private static Dependents dependents(Handle h, String name) {
    long users =
        h.createQuery("SELECT COUNT(*) FROM users WHERE external_provider = :name")
            .bind("name", name)
            .mapTo(Long.class)
            .one();
    long rules =
        h.createQuery("SELECT COUNT(*) FROM identity_claim_rules WHERE provider = :name")
            .bind("name", name)
            .mapTo(Long.class)
            .one();
    return new Dependents(users, rules);
  }

  // --- claim rules -------------------------------------------------------------------------------

  /** Rules, optionally of one provider, in a stable order. */
  public List<ClaimRule> rules(String provider) {
    return fence.read(
        h -> {
          var q =
              h.createQuery(
                  "SELECT * FROM identity_claim_rules"
                      + (provider == null ? "" : " WHERE provider = :provider")
                      + " ORDER BY provider, claim, claim_value, role");
          if (provider != null) {
            q.bind("provider", provider);
          }
          return q.map(ExternalProviders::mapRule).list();
        });
  }

  public ClaimRule rule(UUID id) {
    return fence
        .read(
            h ->
                h.createQuery("SELECT * FROM identity_claim_rules WHERE id = :id")
                    .bind("id", id)
                    .map(ExternalProviders::mapRule)
                    .findOne())
        .orElseThrow(() -> ApiException.notFound("Claim rule", id.toString()));
  }

  /**
   * Creates a rule.
   *
   * @throws ApiException 400 bad field, 404 unknown provider, 409 {@code duplicate} for the same
   *     provider, claim, value and role
   */
  public ClaimRule createRule(
      Principal actor, String provider, String claim, String value, String role) {
    String providerName = required("provider", provider);
    String claimName = claim("claim", claim);
    String claimValue = required("value", value);
    if (claimValue.isEmpty()
        || claimValue.length() > 1000
        || claimValue.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \"value\" must be 1 to 1000 characters without control characters.");
    }
    String roleId = required("role", role);
    if (Role.fromId(roleId).isEmpty()) {
      throw ApiException.badRequest(
          "invalid_role",
          "Unknown role \""
              + roleId
              + "\". Known roles: "
              + Arrays.stream(Role.values()).map(Role::id).toList()
              + ".");
    }
    ClaimRule rule =
        new ClaimRule(
            UUID.randomUUID(), providerName, claimName, claimValue, roleId, clock.instant());
    try {
      return fence.write(
          h -> {
            if (find(h, providerName).isEmpty()) {
              throw ApiException.notFound("Identity provider", providerName);
            }
            boolean exists =
                h.createQuery(
                            "SELECT COUNT(*) FROM identity_claim_rules WHERE provider = :p AND claim"
                                + " = :c AND claim_value = :v AND role = :r")
                        .bind("p", providerName)
                        .bind("c", claimName)
                        .bind("v", claimValue)
                        .bind("r", roleId)
                        .mapTo(Long.class)
                        .one()
                    > 0;
            if (exists) {
              throw duplicateRule(rule);
            }
            h.createUpdate(
                    "INSERT INTO identity_claim_rules (id, provider, claim, claim_value, role,"
                        + " created_at) VALUES (:id, :p, :c, :v, :r, :now)")
                .bind("id", rule.id())
                .bind("p", providerName)
                .bind("c", claimName)
                .bind("v", claimValue)
                .bind("r", roleId)
                .bind("now", Timestamp.from(rule.createdAt()))
                .execute();
            AuditLog.record(
                h, actor, "identity.rule.create", RULE_TYPE, rule.id().toString(), null, rule);
            return rule;
          });
    } catch (UnableToExecuteStatementException e) {
      if (Sql.isUniqueViolation(e)) {
        throw duplicateRule(rule);
      }
      throw e;
    }
  }

  /**
   * Deletes a rule; the roles it granted go with it at once (a user's token keeps them until it
   * expires).
   */
  public void deleteRule(Principal actor, UUID id) {
    fence.write(
        h -> {
          ClaimRule before =
              h.createQuery("SELECT * FROM identity_claim_rules WHERE id = :id FOR UPDATE")
                  .bind("id", id)
                  .map(ExternalProviders::mapRule)
                  .findOne()
                  .orElseThrow(() -> ApiException.notFound("Claim rule", id.toString()));
          h.createUpdate("DELETE FROM identity_claim_rules WHERE id = :id")
              .bind("id", id)
              .execute();
          AuditLog.record(h, actor, "identity.rule.delete", RULE_TYPE, id.toString(), before, null);
          return null;
        });
  }

  // --- rows -------------------------------------------------------------------------------------

  private Optional<ExternalProvider> find(Handle h, String name) {
    return h.createQuery("SELECT * FROM identity_providers WHERE name = :name")
        .bind("name", name)
        .map(this::map)
        .findOne();
  }

  private ExternalProvider lock(Handle h, String name) {
    return h.createQuery("SELECT * FROM identity_providers WHERE name = :name FOR UPDATE")
        .bind("name", name)
        .map(this::map)
        .findOne()
        .orElseThrow(() -> notFound(name));
  }

  private ExternalProvider map(ResultSet rs, StatementContext ctx) throws SQLException {
    String callback = rs.getString("callback_path");
    return new ExternalProvider(
        rs.getString("name"),
        rs.getString("display_name"),
        rs.getString("authority"),
        rs.getString("client_id"),
        rs.getString("client_auth"),
        rs.getBytes("client_secret_protected") != null,
        rs.getString("certificate_thumbprint"),
        callback,
        redirectBase + callback,
        Arrays.asList(rs.getString("scopes").split(" ")),
        rs.getString("user_name_claim"),
        rs.getBoolean("prompt_login"),
        rs.getBoolean("enabled"),
        rs.getLong("revision"),
        rs.getTimestamp("created_at").toInstant(),
        rs.getTimestamp("updated_at").toInstant());
  }

  private static ClaimRule mapRule(ResultSet rs, StatementContext ctx) throws SQLException {
    return new ClaimRule(
        rs.getObject("id", UUID.class),
        rs.getString("provider"),
        rs.getString("claim"),
        rs.getString("claim_value"),
        rs.getString("role"),
        rs.getTimestamp("created_at").toInstant());
  }

  private static void put(Map<String, Object> values, String column, Object value) {
    if (value != null) {
      values.put(column, value);
    }
  }

  // --- validation -------------------------------------------------------------------------------

  private byte[] sealSecret(String secret) {
    if (secret.isEmpty()
        || secret.length() > 2000
        || secret.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest(
          "invalid_client_secret",
          "Field \"clientSecret\" must be 1 to 2000 characters without control characters.");
    }
    return protector.protect(SECRET_PURPOSE, secret.getBytes(StandardCharsets.UTF_8));
  }

  private static String required(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    return value;
  }

  static String name(String value) {
    String name = required("name", value);
    if (!NAME.matcher(name).matches()) {
      throw ApiException.badRequest(
          "invalid_name",
          "Provider name \""
              + Text.excerpt(name)
              + "\" is not valid: use 1-63 lower-case letters, digits or '-', starting with a"
              + " letter or digit (it is used in URLs).");
    }
    return name;
  }

  private static String displayName(String value) {
    String trimmed = value.strip();
    if (trimmed.isEmpty()
        || io.vigil.server.http.Text.length(trimmed) > 200
        || io.vigil.server.http.Text.notPrintable(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_display_name",
          "Field \"displayName\" must be 1 to 200 characters without control or invisible"
              + " formatting characters.");
    }
    return trimmed;
  }

  /**
   * An issuer URL: https with a host, no credentials, query or fragment. Plain http is accepted
   * only on the loopback interface (a provider on the same machine, as in development).
   */
  static String authority(String value) {
    String trimmed = required("authority", value).strip();
    ApiException invalid =
        ApiException.badRequest(
            "invalid_authority",
            "Field \"authority\" is not a valid issuer URL: \""
                + trimmed
                + "\". Use the provider's issuer, an https URL such as"
                + " https://login.example.com/realms/site (http only on localhost), without query,"
                + " fragment or credentials.");
    URI uri;
    try {
      uri = new URI(trimmed);
    } catch (URISyntaxException e) {
      throw invalid;
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost();
    if (host == null
        || host.isEmpty()
        || uri.getUserInfo() != null
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null
        || trimmed.length() > 2000) {
      throw invalid;
    }
    boolean loopback =
        host.equalsIgnoreCase("localhost") || host.equals("[::1]") || host.startsWith("127.");
    if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
      throw invalid;
    }
    return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
  }

  private static String clientId(String value) {
    String id = required("clientId", value).strip();
    if (id.isEmpty() || id.length() > 500 || id.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest(
          "invalid_client_id",
          "Field \"clientId\" must be 1 to 500 characters without control characters: the client"
              + " id the provider gave Vigil.");
    }
    return id;
  }

  private static String clientAuthentication(String value) {
    if (!ExternalProvider.CLIENT_AUTHENTICATIONS.contains(value)) {
      throw ApiException.badRequest(
          "invalid_client_authentication",
          "Client authentication \""
              + value
              + "\" is not supported; use one of "
              + ExternalProvider.CLIENT_AUTHENTICATIONS
              + ".");
    }
    return value;
  }

  static String callbackPath(String value) {
    if (!CALLBACK.matcher(value).matches()
        || RESERVED_SEGMENTS.contains(value.substring(1).toLowerCase(Locale.ROOT))) {
      throw ApiException.badRequest(
          "invalid_callback_path",
          "Callback path \""
              + value
              + "\" is not valid: use one path segment such as /signin-oidc or /signin-oidc-entra"
              + " (letters, digits, '.', '_', '~', '-'), not one of the node's own paths "
              + RESERVED_SEGMENTS.stream().sorted().map(s -> "/" + s).toList()
              + ".");
    }
    return value;
  }

  private static List<String> scopes(List<String> values) {
    Set<String> scopes = new LinkedHashSet<>();
    for (String s : values) {
      if (s == null || !SCOPE_TOKEN.matcher(s).matches()) {
        throw ApiException.badRequest(
            "invalid_scopes",
            "Scope \"" + s + "\" is not a valid OAuth scope token (RFC 6749 section 3.3).");
      }
      scopes.add(s);
    }
    if (!scopes.contains("openid")) {
      throw ApiException.badRequest(
          "invalid_scopes",
          "Field \"scopes\" must contain \"openid\": Vigil signs users in with OpenID Connect.");
    }
    return new ArrayList<>(scopes);
  }

  private static String claim(String field, String value) {
    String claim = required(field, value);
    if (!CLAIM.matcher(claim).matches()) {
      throw ApiException.badRequest(
          "invalid_claim",
          "Field \""
              + field
              + "\" must be a claim name of 1-200 letters, digits, '_', '.', ':', '/' or '-'.");
    }
    return claim;
  }

  /** A SHA-1 thumbprint in hex; case, spaces and colons are ignored. */
  static String thumbprint(String value) {
    String hex = value.replaceAll("[\\s:]", "").toUpperCase(Locale.ROOT);
    if (!HEX40.matcher(hex).matches()) {
      throw ApiException.badRequest(
          "invalid_thumbprint",
          "Field \"certificateThumbprint\" must be a SHA-1 thumbprint: 40 hex digits (case,"
              + " spaces and colons are ignored).");
    }
    return hex;
  }

  private static ApiException notFound(String name) {
    return ApiException.notFound("Identity provider", name);
  }

  private static ApiException duplicate(String name) {
    return ApiException.conflict(
        "duplicate_name",
        "An identity provider named \"" + name + "\" already exists. Choose another name.");
  }

  private static ApiException duplicateRule(ClaimRule rule) {
    return ApiException.conflict(
        "duplicate",
        "Provider \""
            + rule.provider()
            + "\" already has a rule granting \""
            + rule.role()
            + "\" for claim \""
            + rule.claim()
            + "\" = \""
            + rule.value()
            + "\".");
  }

  private static ApiException versionConflict(ExternalProvider current, long expected) {
    return ApiException.conflict(
        "version_conflict",
        "Identity provider \""
            + current.name()
            + "\" was changed by someone else (your revision "
            + expected
            + ", current "
            + current.revision()
            + "). Read it again, reapply your change and send the new ETag in If-Match.");
  }
}
