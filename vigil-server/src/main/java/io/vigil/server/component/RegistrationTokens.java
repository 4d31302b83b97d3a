package io.vigil.server.component;

import io.vigil.client.NewServer;
import io.vigil.client.ServerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.identity.ClientService;
import io.vigil.server.identity.Secrets;
import io.vigil.server.management.Server;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * One-time registration tokens, and the registration of a component with one.
 *
 * <p>An administrator creates a token ({@link #create}); it is a random 256-bit value, shown in
 * that answer only and stored as its SHA-256 hash, like a client secret. A component redeems it
 * once ({@link #redeem}): in one fenced transaction that creates the component's confidential OAuth
 * client (role {@code component}), registers its server with that client as the registrant (so the
 * component may change only that server, see {@code management.ServerOwnership}) and marks the
 * token used. Nothing of it happens when any part is refused: an unknown, used or expired token, a
 * server type the token does not allow, an invalid or taken server name.
 *
 * <p>A used token is answered again, with a new secret for the same client, until the registered
 * server first reports, so that a component may retry a registration whose answer it did not get
 * (see {@code redeemAgain}).
 */
public final class RegistrationTokens {

  static final String TYPE = "registration_token";
  static final Duration DEFAULT_LIFETIME = Duration.ofHours(1);
  static final Duration MAX_LIFETIME = Duration.ofDays(7);

  /** The prefix of every token, so that one is recognisable in a configuration file. */
  static final String PREFIX = "vrt_";

  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * A token as the API lists it; never the token itself.
   *
   * @param type the only server type it registers; null for any
   * @param status {@code active}, {@code used} or {@code expired}
   * @param usedByClient the client id of the component that redeemed it
   * @param serverId the server registered with it
   */
  public record Token(
      UUID id,
      String type,
      String status,
      String createdBy,
      Instant createdAt,
      Instant expiresAt,
      Instant usedAt,
      String usedByClient,
      UUID serverId) {}

  /** A token just created, with its value: shown this once. */
  public record Created(Token token, String registrationToken) {}

  /** What a redeemed token gave the component: its OAuth client and its registered server. */
  public record Registered(String clientId, String clientSecret, Server server) {}

  private final Fence fence;
  private final ClientService clients;
  private final ServerRegistry servers;
  private final Clock clock;

  public RegistrationTokens(
      Fence fence, ClientService clients, ServerRegistry servers, Clock clock) {
    this.fence = fence;
    this.clients = clients;
    this.servers = servers;
    this.clock = clock;
  }

  /**
   * Creates a token.
   *
   * @param expiresInSeconds its lifetime; null for an hour, at most 7 days
   * @param type the one server type it may register; null for any
   * @throws ApiException 400 {@code invalid_value} or {@code invalid_type}
   */
  public Created create(Principal actor, Integer expiresInSeconds, String type) {
    Duration lifetime = DEFAULT_LIFETIME;
    if (expiresInSeconds != null) {
      if (expiresInSeconds < 1 || expiresInSeconds > MAX_LIFETIME.toSeconds()) {
        throw ApiException.badRequest(
            "invalid_value",
            "Field \"expiresInSeconds\" must be between 1 and "
                + MAX_LIFETIME.toSeconds()
                + " (7 days), not "
                + expiresInSeconds
                + ".");
      }
      lifetime = Duration.ofSeconds(expiresInSeconds);
    }
    String serverType = type == null ? null : serverType(type);
    String value = PREFIX + Secrets.random256();
    UUID id = UUID.randomUUID();
    Instant now = clock.instant();
    Instant expires = now.plus(lifetime);
    return fence.write(
        h -> {
          h.createUpdate(
                  "INSERT INTO registration_tokens (id, token_hash, server_type, created_by,"
                      + " created_at, expires_at) VALUES (:id, :hash, :type, :by, :now, :expires)")
              .bind("id", id)
              .bind("hash", Secrets.sha256(value))
              .bind("type", serverType)
              .bind("by", actor.name())
              .bind("now", Timestamp.from(now))
              .bind("expires", Timestamp.from(expires))
              .execute();
          Token token = find(h, id, now).orElseThrow();
          AuditLog.record(h, actor, "registration_token.create", TYPE, id.toString(), null, token);
          return new Created(token, value);
        });
  }

  /** Every token, newest first: active, used and expired ones. */
  public List<Token> list() {
    Instant now = clock.instant();
    return fence.read(
        h ->
            h.createQuery("SELECT * FROM registration_tokens ORDER BY created_at DESC, id")
                .map((rs, ctx) -> row(rs, now))
                .list());
  }

  /** Revokes a token: it is deleted, and can no longer register anything. */
  public void revoke(Principal actor, UUID id) {
    Instant now = clock.instant();
    fence.run(
        h -> {
          Token before =
              find(h, id, now)
                  .orElseThrow(() -> ApiException.notFound("Registration token", id.toString()));
          h.createUpdate("DELETE FROM registration_tokens WHERE id = :id").bind("id", id).execute();
          AuditLog.record(h, actor, "registration_token.revoke", TYPE, id.toString(), before, null);
        });
  }

  /**
   * Redeems {@code token} for a component: creates its OAuth client and registers its server, in
   * one fenced transaction.
   *
   * <p>A used token is answered again, with the same client and server and a new secret for the
   * client, while the server it registered has never reported and the registration names the same
   * server ({@code redeemAgain} says when and why).
   *
   * @throws ApiException 400 for a missing token or an invalid registration, 401 {@code
   *     invalid_registration_token} for an unknown or expired token or a used one that may not be
   *     answered again, 403 {@code type_not_allowed} when the token registers another server type,
   *     409 {@code duplicate_name}
   */
  public Registered redeem(String token, NewServer registration) {
    if (token == null || token.isBlank()) {
      throw ApiException.badRequest(
          "missing_field",
          "Field \"registrationToken\" is required: the one-time token an administrator created"
              + " (POST /api/v1/registration-tokens).");
    }
    if (registration == null) {
      throw ApiException.badRequest(
          "missing_field",
          "Field \"server\" is required: the server's name, type, address, version and"
              + " heartbeatIntervalSeconds.");
    }
    NewServer valid = ServerRegistry.validate(registration);
    String hash = Secrets.sha256(token);
    String clientId = clientId(valid.name());
    Principal component =
        new Principal(clientId, clientId, clientId, Set.of(Role.COMPONENT), Set.of());
    return ServerRegistry.uniqueName(
        valid.name(),
        () ->
            fence.write(
                h -> {
                  Instant now = clock.instant();
                  Token t =
                      h.createQuery(
                              "SELECT * FROM registration_tokens WHERE token_hash = :hash FOR"
                                  + " UPDATE")
                          .bind("hash", hash)
                          .map((rs, ctx) -> row(rs, now))
                          .findOne()
                          .orElseThrow(RegistrationTokens::invalidToken);
                  if ("used".equals(t.status())) {
                    return redeemAgain(h, t, valid, now);
                  }
                  if (!"active".equals(t.status())) {
                    throw invalidToken();
                  }
                  if (t.type() != null && !t.type().equals(valid.type())) {
                    throw new ApiException(
                        403,
                        "type_not_allowed",
                        "This registration token registers a "
                            + t.type()
                            + " only, not a "
                            + valid.type()
                            + ". Ask an administrator for a token of the right type.");
                  }
                  ClientService.WithSecret created =
                      clients.createComponent(h, component, clientId);
                  Server server = servers.register(h, component, valid);
                  h.createUpdate(
                          "UPDATE registration_tokens SET used_at = :now, used_by_client = :client,"
                              + " server_id = :server WHERE id = :id")
                      .bind("now", Timestamp.from(now))
                      .bind("client", clientId)
                      .bind("server", server.id())
                      .bind("id", t.id())
                      .execute();
                  AuditLog.record(
                      h,
                      component,
                      "registration_token.redeem",
                      TYPE,
                      t.id().toString(),
                      t,
                      find(h, t.id(), now).orElseThrow());
                  return new Registered(clientId, created.clientSecret(), server);
                }));
  }

  /**
   * Answers a used token's registration again, with a new secret for the same client, inside {@link
   * #redeem}'s transaction (the token's row stays locked): when the token has not expired, the
   * server it registered still exists, has never reported (no heartbeat) and has the name
   * (regardless of case) and type asked for, and the client it created still exists. The client's
   * secret is replaced, so the first answer's secret stops working.
   *
   * <p>This makes registering with a token safe to retry when its outcome is unknown (a timeout, a
   * connection broken during the exchange): until the component first reports, the holder of the
   * token is the only party who can have the credentials, and answering again with a new secret,
   * which voids any copy of the first answer, gives no one more than an unused token would. After
   * the server's first heartbeat the token is spent for good.
   *
   * @throws ApiException 401 {@code invalid_registration_token} in every other case
   */
  private Registered redeemAgain(Handle h, Token t, NewServer valid, Instant now) {
    if (!now.isBefore(t.expiresAt()) || t.serverId() == null || t.usedByClient() == null) {
      throw invalidToken();
    }
    String clientId = t.usedByClient();
    Principal component =
        new Principal(clientId, clientId, clientId, Set.of(Role.COMPONENT), Set.of());
    Server server =
        ServerRegistry.lockNeverReported(h, t.serverId(), valid.name(), valid.type())
            .orElseThrow(RegistrationTokens::invalidToken);
    ClientService.WithSecret renewed =
        clients
            .rotateComponentSecret(h, component, clientId)
            .orElseThrow(RegistrationTokens::invalidToken);
    AuditLog.record(h, component, "registration_token.redeem_again", TYPE, t.id().toString(), t, t);
    return new Registered(clientId, renewed.clientSecret(), server);
  }

  /**
   * A client id for the component of server {@code name}: its name in the characters a client id
   * allows, and 8 random hex digits so that a re-registered server never takes an old client id.
   */
  static String clientId(String name) {
    String base =
        name.toLowerCase(Locale.ROOT)
            .replaceAll("[^a-z0-9._-]+", "-")
            .replaceAll("^[^a-z0-9]+", "");
    if (base.length() > 40) {
      base = base.substring(0, 40);
    }
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    return (base.isEmpty() ? "component" : base) + "-" + HexFormat.of().formatHex(suffix);
  }

  private static ApiException invalidToken() {
    return new ApiException(
        401,
        "invalid_registration_token",
        "The registration token is unknown, already used or expired. Ask an administrator for a"
            + " new one (vigil component token create).");
  }

  private static String serverType(String id) {
    return ServerType.fromId(id)
        .orElseThrow(
            () ->
                ApiException.badRequest(
                    "invalid_type",
                    "Server type \""
                        + Text.excerpt(id)
                        + "\" is unknown. Use one of: "
                        + ServerType.allIds()
                        + "."))
        .id();
  }

  private static Optional<Token> find(Handle h, UUID id, Instant now) {
    return h.createQuery("SELECT * FROM registration_tokens WHERE id = :id")
        .bind("id", id)
        .map((rs, ctx) -> row(rs, now))
        .findOne();
  }

  private static Token row(ResultSet rs, Instant now) throws SQLException {
    Instant expires = Sql.instant(rs.getTimestamp("expires_at"));
    Instant used = Sql.instant(rs.getTimestamp("used_at"));
    String status = used != null ? "used" : now.isBefore(expires) ? "active" : "expired";
    return new Token(
        rs.getObject("id", UUID.class),
        rs.getString("server_type"),
        status,
        rs.getString("created_by"),
        Sql.instant(rs.getTimestamp("created_at")),
        expires,
        used,
        rs.getString("used_by_client"),
        rs.getObject("server_id", UUID.class));
  }
}
