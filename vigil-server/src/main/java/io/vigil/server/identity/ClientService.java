package io.vigil.server.identity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.security.Principal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * OAuth clients: the built-in public clients {@value #CLI} (authorization code with PKCE through a
 * loopback redirect, the device grant, and the password grant for scripts) and {@value #CONSOLE}
 * (authorization code with PKCE), and confidential clients registered for components (client
 * credentials). A confidential client's secret is a random 256-bit value generated here, shown
 * once, and stored as its SHA-256 hash, which is all a check needs and gives nothing back. Secrets
 * that earlier versions stored encrypted by the {@link DataProtector} (purpose {@value
 * #SECRET_PURPOSE}) are hashed by {@link #hashEncryptedSecrets()} when a node starts.
 *
 * <p>Redirect URIs match exactly, except that a registered loopback URI without a port ({@code
 * http://127.0.0.1/callback}, {@code http://[::1]/callback}) matches that URI on any port, as RFC
 * 8252 7.3 asks for native applications; its path and query must match exactly, and {@code
 * localhost}, which may resolve elsewhere, is no loopback address here (RFC 9700 2.1).
 *
 * <p>{@link #authenticate} serves confidential clients from a cache of what the check needs (the
 * client and its secret hash), so that a client-credentials token costs no database round trip.
 * Every write here drops the whole cache, at once and again when its transaction commits, and a
 * node drops it when it takes the role ({@link #forgetCached}, from {@link
 * IdentityProvider#start}): only the active node writes and serves the token endpoint, so a
 * changed, rotated or deleted client is refused from the next request on. An entry read while a
 * write was under way is not used (the cache's revision moved), and entries are re-read after
 * {@link #CACHE_FOR} whatever happens.
 */
public final class ClientService {

  public static final String CLI = "vigil-cli";
  public static final String CONSOLE = "vigil-console";
  static final String SECRET_PURPOSE = "identity.client-secret";
  static final String TYPE = "oauth_client";
  static final List<String> LOOPBACK_REDIRECTS =
      List.of("http://127.0.0.1/callback", "http://[::1]/callback");
  static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
  static final List<String> CLI_GRANTS =
      List.of("authorization_code", DEVICE_GRANT, "password", "refresh_token");

  private static final Set<String> BUILT_IN = Set.of(CLI, CONSOLE);
  private static final Pattern CLIENT_ID = Pattern.compile("[a-z0-9][a-z0-9._-]{2,63}");
  private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};

  /** A client and, only right after creation or rotation, its secret. */
  public record WithSecret(OAuthClient client, String clientSecret) {}

  /** How long a cached client is used before it is read again, even without a write. */
  static final Duration CACHE_FOR = Duration.ofMinutes(1);

  /** Above this many cached clients the cache starts over (it holds only existing clients). */
  static final int CACHE_MAX = 10_000;

  /** What {@link #authenticate} needs of a confidential client, as read at {@code revision}. */
  private record Cached(OAuthClient client, String secretHash, long revision, Instant readAt) {}

  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
  private final AtomicLong revision = new AtomicLong();

  private final Fence fence;
  private final DataProtector protector;
  private final Clock clock;
  private final String dummyHash;

  public ClientService(Fence fence, DataProtector protector, Clock clock) {
    this.fence = fence;
    this.protector = protector;
    this.clock = clock;
    this.dummyHash = Secrets.sha256(Secrets.random256());
  }

  /**
   * Creates the built-in clients when missing, keeps the console's redirect URIs on the node's
   * current address and the CLI's grants and redirect URIs on this version's; inside the bootstrap
   * lock.
   *
   * @param issuer the identity provider's issuer, whose device page signs in through the CLI's
   *     redirect URI {@code <issuer>/device/callback}
   */
  void ensureBuiltIns(Handle h, List<String> consoleOrigins, String issuer) {
    Optional<OAuthClient> cli = find(h, CLI);
    List<String> cliRedirects = cliRedirects(issuer);
    if (cli.isEmpty()) {
      insert(h, CLI, OAuthClient.PUBLIC, null, List.of(), CLI_GRANTS, cliRedirects);
    } else if (!cliCurrent(cli.get(), issuer)) {
      // Clients created by earlier versions had the password grant alone.
      h.createUpdate(
              "UPDATE oauth_clients SET grants = :grants, redirect_uris = :uris, version = version"
                  + " + 1, updated_at = :now WHERE client_id = :id")
          .bind("grants", json(CLI_GRANTS))
          .bind("uris", json(cliRedirects))
          .bind("now", Timestamp.from(clock.instant()))
          .bind("id", CLI)
          .execute();
      changed(h);
    }
    List<String> redirects = consoleRedirects(consoleOrigins);
    Optional<OAuthClient> console = find(h, CONSOLE);
    if (console.isEmpty()) {
      insert(
          h,
          CONSOLE,
          OAuthClient.PUBLIC,
          null,
          List.of(),
          List.of("authorization_code", "refresh_token"),
          redirects);
    } else if (!console.get().redirectUris().equals(redirects)) {
      h.createUpdate(
              "UPDATE oauth_clients SET redirect_uris = :uris, version = version + 1, updated_at ="
                  + " :now WHERE client_id = :id")
          .bind("uris", json(redirects))
          .bind("now", Timestamp.from(clock.instant()))
          .bind("id", CONSOLE)
          .execute();
      changed(h);
    }
  }

  /** Whether both built-in clients exist and their grants and redirect URIs are current. */
  static boolean builtInsCurrent(Handle h, List<String> consoleOrigins, String issuer) {
    return find(h, CLI).map(c -> cliCurrent(c, issuer)).orElse(false)
        && find(h, CONSOLE)
            .map(c -> c.redirectUris().equals(consoleRedirects(consoleOrigins)))
            .orElse(false);
  }

  private static boolean cliCurrent(OAuthClient cli, String issuer) {
    return cli.grants().equals(CLI_GRANTS) && cli.redirectUris().equals(cliRedirects(issuer));
  }

  private static List<String> cliRedirects(String issuer) {
    List<String> redirects = new java.util.ArrayList<>(LOOPBACK_REDIRECTS);
    redirects.add(issuer + DevicePages.CALLBACK);
    return redirects;
  }

  private static List<String> consoleRedirects(List<String> origins) {
    List<String> redirects = new java.util.ArrayList<>();
    origins.forEach(origin -> redirects.add(origin + "/console/callback"));
    redirects.addAll(LOOPBACK_REDIRECTS);
    return redirects;
  }

  public List<OAuthClient> list() {
    return fence.read(
        h ->
            h.createQuery("SELECT * FROM oauth_clients ORDER BY client_id")
                .map(ClientService::map)
                .list());
  }

  public Optional<OAuthClient> find(String clientId) {
    return fence.read(h -> find(h, clientId));
  }

  /**
   * Registers a confidential client for the client credentials grant.
   *
   * @throws ApiException 400 bad id or role, 409 {@code duplicate}
   */
  public WithSecret create(Principal actor, String clientId, List<String> roles) {
    if (clientId == null || !CLIENT_ID.matcher(clientId).matches()) {
      throw ApiException.badRequest(
          "invalid_client_id",
          "Client id \""
              + (clientId == null ? "" : Text.excerpt(clientId))
              + "\" is not valid: use 3-64 lower-case letters, digits, '.', '_' or '-', starting"
              + " with a letter or digit.");
    }
    List<String> roleIds = UserService.validateRoles(roles);
    String secret = Secrets.random256();
    String hash = Secrets.sha256(secret);
    try {
      return fence.write(
          h -> {
            if (find(h, clientId).isPresent()) {
              throw duplicate(clientId);
            }
            OAuthClient client =
                insert(
                    h,
                    clientId,
                    OAuthClient.CONFIDENTIAL,
                    hash,
                    roleIds,
                    List.of("client_credentials"),
                    List.of());
            AuditLog.record(h, actor, "client.create", TYPE, clientId, null, client);
            return new WithSecret(client, secret);
          });
    } catch (UnableToExecuteStatementException e) {
      if (UserService.isUniqueViolation(e)) {
        throw duplicate(clientId);
      }
      throw e;
    }
  }

  /**
   * Registers a confidential client with the {@code component} role inside the caller's fenced
   * transaction, as component registration does together with the component's server. The secret is
   * generated here and returned once; only its hash is stored.
   *
   * @throws ApiException 400 when the id is not valid, 409 {@code duplicate} when it is taken
   */
  public WithSecret createComponent(Handle h, Principal actor, String clientId) {
    if (clientId == null || !CLIENT_ID.matcher(clientId).matches()) {
      throw ApiException.badRequest(
          "invalid_client_id",
          "Client id \"" + Text.excerpt(String.valueOf(clientId)) + "\" is not valid.");
    }
    if (find(h, clientId).isPresent()) {
      throw duplicate(clientId);
    }
    String secret = Secrets.random256();
    OAuthClient client =
        insert(
            h,
            clientId,
            OAuthClient.CONFIDENTIAL,
            Secrets.sha256(secret),
            List.of(io.vigil.server.security.Role.COMPONENT.id()),
            List.of("client_credentials"),
            List.of());
    AuditLog.record(h, actor, "client.create", TYPE, clientId, null, client);
    return new WithSecret(client, secret);
  }

  /** Replaces a confidential client's secret; the old one stops working at once. */
  public WithSecret rotateSecret(Principal actor, String clientId) {
    return fence.write(
        h -> {
          OAuthClient before = lock(h, clientId);
          if (!OAuthClient.CONFIDENTIAL.equals(before.type())) {
            throw ApiException.conflict(
                "public_client",
                "Client \"" + clientId + "\" is a public client and has no secret to rotate.");
          }
          return replaceSecret(h, actor, before);
        });
  }

  /**
   * Replaces a component's secret inside the caller's fenced transaction, as a registration token
   * redeemed again does: the old secret stops working when the transaction commits. The new secret
   * is returned once; only its hash is stored.
   *
   * @return empty when there is no confidential client {@code clientId} with the {@code component}
   *     role
   */
  public Optional<WithSecret> rotateComponentSecret(Handle h, Principal actor, String clientId) {
    return h.createQuery("SELECT * FROM oauth_clients WHERE client_id = :id FOR UPDATE")
        .bind("id", clientId)
        .map(ClientService::map)
        .findOne()
        .filter(
            c ->
                OAuthClient.CONFIDENTIAL.equals(c.type())
                    && c.roles().contains(io.vigil.server.security.Role.COMPONENT.id()))
        .map(before -> replaceSecret(h, actor, before));
  }

  private WithSecret replaceSecret(Handle h, Principal actor, OAuthClient before) {
    String secret = Secrets.random256();
    Instant now = clock.instant();
    h.createUpdate(
            "UPDATE oauth_clients SET secret_hash = :hash, secret_protected = NULL,"
                + " version = version + 1, updated_at = :now WHERE client_id = :id")
        .bind("hash", Secrets.sha256(secret))
        .bind("now", Timestamp.from(now))
        .bind("id", before.clientId())
        .execute();
    changed(h);
    OAuthClient after =
        new OAuthClient(
            before.clientId(),
            before.type(),
            before.roles(),
            before.grants(),
            before.redirectUris(),
            before.version() + 1,
            before.createdAt());
    AuditLog.record(h, actor, "client.secret.rotate", TYPE, before.clientId(), before, after);
    return new WithSecret(after, secret);
  }

  /** Deletes a registered client; the built-in clients cannot be deleted. */
  public void delete(Principal actor, String clientId) {
    fence.run(
        h -> {
          OAuthClient before = lock(h, clientId);
          if (BUILT_IN.contains(clientId)) {
            throw ApiException.conflict(
                "built_in",
                "Client \""
                    + clientId
                    + "\" is built in: the CLI and the console need it, so it cannot be deleted.");
          }
          h.createUpdate("DELETE FROM oauth_clients WHERE client_id = :id")
              .bind("id", clientId)
              .execute();
          h.createUpdate("DELETE FROM refresh_tokens WHERE client_id = :id")
              .bind("id", clientId)
              .execute();
          changed(h);
          AuditLog.record(h, actor, "client.delete", TYPE, clientId, before, null);
        });
  }

  /**
   * The confidential client {@code clientId} if {@code secret} is its secret. Compared in constant
   * time; an unknown client costs the same comparison. A cached client costs no database read (see
   * the class comment).
   */
  Optional<OAuthClient> authenticate(String clientId, String secret) {
    Instant now = clock.instant();
    Cached cached = cache.get(clientId);
    if (cached != null
        && (cached.revision() != revision.get()
            || !now.isBefore(cached.readAt().plus(CACHE_FOR)))) {
      cache.remove(clientId, cached);
      cached = null;
    }
    String expected = dummyHash;
    OAuthClient client = null;
    if (cached != null) {
      expected = cached.secretHash();
      client = cached.client();
    } else {
      long seen = revision.get();
      var row =
          fence.read(
              h ->
                  h.createQuery("SELECT * FROM oauth_clients WHERE client_id = :id")
                      .bind("id", clientId)
                      .map(
                          (rs, c) ->
                              new Object[] {
                                map(rs, c),
                                rs.getString("secret_hash"),
                                rs.getBytes("secret_protected")
                              })
                      .findOne());
      if (row.isPresent() && row.get()[1] != null) {
        client = (OAuthClient) row.get()[0];
        expected = (String) row.get()[1];
        if (OAuthClient.CONFIDENTIAL.equals(client.type())) {
          if (cache.size() >= CACHE_MAX) {
            cache.clear();
          }
          cache.put(clientId, new Cached(client, expected, seen, now));
        }
      } else if (row.isPresent() && row.get()[2] != null) {
        // Stored encrypted by an earlier version and not hashed yet (see hashEncryptedSecrets).
        client = (OAuthClient) row.get()[0];
        expected =
            Secrets.sha256(
                new String(
                    protector.unprotect(SECRET_PURPOSE, (byte[]) row.get()[2]),
                    StandardCharsets.UTF_8));
      }
    }
    boolean match =
        java.security.MessageDigest.isEqual(
            expected.getBytes(StandardCharsets.US_ASCII),
            Secrets.sha256(secret).getBytes(StandardCharsets.US_ASCII));
    return match && client != null ? Optional.of(client) : Optional.empty();
  }

  /**
   * Drops every cached client: a node calls it when it takes the role, since another node may have
   * changed clients meanwhile.
   */
  void forgetCached() {
    revision.incrementAndGet();
    cache.clear();
  }

  /**
   * Drops the cache now and again when {@code h}'s transaction commits: an entry read between the
   * two saw the row as it was before the write. Called after the write's statements.
   */
  private void changed(Handle h) {
    forgetCached();
    h.afterCommit(this::forgetCached);
  }

  /**
   * Replaces the client secrets that earlier versions stored encrypted with their hashes; each in a
   * fenced write that changes the row only if it still holds the value read. A secret this node
   * cannot decrypt (its key was wrapped elsewhere) is left for a node that can.
   *
   * @return how many secrets were hashed
   */
  int hashEncryptedSecrets() {
    List<Object[]> rows =
        fence.read(
            h ->
                h.createQuery(
                        "SELECT client_id, secret_protected FROM oauth_clients WHERE"
                            + " secret_protected IS NOT NULL")
                    .map((rs, c) -> new Object[] {rs.getString(1), rs.getBytes(2)})
                    .list());
    int hashed = 0;
    for (Object[] row : rows) {
      String hash;
      try {
        hash =
            Secrets.sha256(
                new String(
                    protector.unprotect(SECRET_PURPOSE, (byte[]) row[1]), StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        continue;
      }
      hashed +=
          fence.write(
              h -> {
                int n =
                    h.createUpdate(
                            "UPDATE oauth_clients SET secret_hash = :hash, secret_protected = NULL"
                                + " WHERE client_id = :id AND secret_protected = :old")
                        .bind("hash", hash)
                        .bind("id", (String) row[0])
                        .bind("old", (byte[]) row[1])
                        .execute();
                changed(h);
                return n;
              });
    }
    return hashed;
  }

  /** Whether {@code redirectUri} is one of the client's, by exact match or loopback pattern. */
  static boolean redirectAllowed(OAuthClient client, URI redirectUri) {
    String uri = redirectUri.toString();
    if (redirectUri.getFragment() != null) {
      return false;
    }
    for (String registered : client.redirectUris()) {
      if (registered.equals(uri)) {
        return true;
      }
      URI r = URI.create(registered);
      if (loopback(r)
          && r.getPort() == -1
          && "http".equals(redirectUri.getScheme())
          && redirectUri.getRawUserInfo() == null
          && r.getHost().equals(redirectUri.getHost())
          && redirectUri.getPort() >= 1
          && redirectUri.getPort() <= 65535
          && java.util.Objects.equals(r.getRawPath(), redirectUri.getRawPath())
          && java.util.Objects.equals(r.getRawQuery(), redirectUri.getRawQuery())) {
        return true;
      }
    }
    return false;
  }

  /** {@code http://} to the IPv4 or IPv6 loopback literal. */
  private static boolean loopback(URI uri) {
    return "http".equals(uri.getScheme())
        && ("127.0.0.1".equals(uri.getHost()) || "[::1]".equals(uri.getHost()));
  }

  private OAuthClient insert(
      Handle h,
      String clientId,
      String type,
      String secretHash,
      List<String> roles,
      List<String> grants,
      List<String> redirects) {
    Instant now = clock.instant();
    h.createUpdate(
            "INSERT INTO oauth_clients (client_id, client_type, secret_hash, roles, grants,"
                + " redirect_uris, version, created_at, updated_at) VALUES (:id, :type, :hash,"
                + " :roles, :grants, :uris, 1, :now, :now)")
        .bind("id", clientId)
        .bind("type", type)
        .bind("hash", secretHash)
        .bind("roles", json(roles))
        .bind("grants", json(grants))
        .bind("uris", json(redirects))
        .bind("now", Timestamp.from(now))
        .execute();
    changed(h);
    return new OAuthClient(clientId, type, roles, grants, redirects, 1, now);
  }

  private static Optional<OAuthClient> find(Handle h, String clientId) {
    return h.createQuery("SELECT * FROM oauth_clients WHERE client_id = :id")
        .bind("id", clientId)
        .map(ClientService::map)
        .findOne();
  }

  private static OAuthClient lock(Handle h, String clientId) {
    return h.createQuery("SELECT * FROM oauth_clients WHERE client_id = :id FOR UPDATE")
        .bind("id", clientId)
        .map(ClientService::map)
        .findOne()
        .orElseThrow(() -> ApiException.notFound("Client", clientId));
  }

  private static OAuthClient map(ResultSet rs, StatementContext ctx) throws SQLException {
    return new OAuthClient(
        rs.getString("client_id"),
        rs.getString("client_type"),
        list(rs.getString("roles")),
        list(rs.getString("grants")),
        list(rs.getString("redirect_uris")),
        rs.getLong("version"),
        rs.getTimestamp("created_at").toInstant());
  }

  private static ApiException duplicate(String clientId) {
    return ApiException.conflict(
        "duplicate", "A client with id \"" + clientId + "\" already exists. Choose another id.");
  }

  private static String json(List<String> values) {
    try {
      return Json.MAPPER.writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> list(String json) {
    try {
      return Json.MAPPER.readValue(json, STRINGS);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("A stored client list is not valid JSON", e);
    }
  }
}
