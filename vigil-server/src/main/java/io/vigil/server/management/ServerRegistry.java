package io.vigil.server.management;

import io.vigil.client.ServerStatus;
import io.vigil.client.ServerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import io.vigil.server.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The server registry: every recording server, mobile server, gateway … registered with this site.
 * Names are unique regardless of case. Every change is fenced and audited.
 */
public final class ServerRegistry {

  static final String TYPE = "server";
  private static final Set<String> SCHEMES = Set.of("http", "https");

  private final Fence fence;

  public ServerRegistry(Fence fence) {
    this.fence = fence;
  }

  /** The fields a caller sends to register a server. */
  public record Registration(String name, String type, String address, String version) {}

  /** The fields a caller may change; null leaves a field as it is. */
  public record Change(String name, String address, String version, String status) {}

  public Server register(Principal actor, Registration in) {
    String name = Validation.name("name", in.name());
    ServerType type = type(in.type());
    String address = Validation.address("address", in.address(), SCHEMES);
    String version = Validation.optionalText("version", in.version(), 100);
    UUID id = UUID.randomUUID();
    return uniqueName(
        name,
        () ->
            fence.write(
                h -> {
                  h.createUpdate(
                          "INSERT INTO servers (id, name, name_key, type, address, sw_version, status,"
                              + " revision, registered_at, registered_by, updated_at) VALUES (:id,"
                              + " :name, :key, :type, :address, :version, :status, 1,"
                              + " CURRENT_TIMESTAMP, :registrant, CURRENT_TIMESTAMP)")
                      .bind("id", id)
                      .bind("name", name)
                      .bind("key", key(name))
                      .bind("type", type.id())
                      .bind("address", address)
                      .bind("version", version)
                      .bind("status", ServerStatus.UNKNOWN.id())
                      .bind("registrant", ServerOwnership.registrant(actor))
                      .execute();
                  Server created = find(h, id).orElseThrow();
                  AuditLog.record(
                      h, actor, "server.registered", TYPE, id.toString(), null, created);
                  return created;
                }));
  }

  public Page<Server> list(String typeFilter, String cursor, int limit) {
    String type = typeFilter == null ? null : type(typeFilter).id();
    return fence.read(
        h ->
            Page.query(
                h,
                "SELECT * FROM servers",
                "name_key",
                cursor,
                limit,
                ServerRegistry::row,
                "type",
                type));
  }

  public Server get(UUID id) {
    return fence.read(h -> find(h, id)).orElseThrow(() -> notFound(id));
  }

  /**
   * Applies a change if the server is still at {@code expectedRevision}.
   *
   * @throws ApiException 409 {@code version_conflict} when someone changed it since, 404 when gone,
   *     403 when a component changes a server not its own or its disabled status ({@link
   *     ServerOwnership})
   */
  public Server update(Principal actor, UUID id, long expectedRevision, Change change) {
    String name = change.name() == null ? null : Validation.name("name", change.name());
    String address =
        change.address() == null ? null : Validation.address("address", change.address(), SCHEMES);
    String version =
        change.version() == null ? null : Validation.optionalText("version", change.version(), 100);
    ServerStatus status = change.status() == null ? null : status(change.status());
    return uniqueName(
        name,
        () ->
            fence.write(
                h -> {
                  Server before = lockCurrent(h, actor, id, expectedRevision);
                  ServerOwnership.checkStatusChange(actor, before, status);
                  Updates set = new Updates();
                  if (name != null) {
                    set.add("name", name).add("name_key", key(name));
                  }
                  set.add("address", address);
                  if (change.version() != null) {
                    set.addNullable("sw_version", version, java.sql.Types.VARCHAR);
                  }
                  set.add("status", status == null ? null : status.id());
                  set.execute(h, "servers", id);
                  Server after = find(h, id).orElseThrow();
                  AuditLog.record(h, actor, "server.updated", TYPE, id.toString(), before, after);
                  return after;
                }));
  }

  /**
   * Unregisters a server. Refused while hardware is assigned to it, so that no camera is left
   * without a recording server, and to a component that did not register it.
   */
  public void unregister(Principal actor, UUID id, Long expectedRevision) {
    fence.write(
        h -> {
          Server before = lockCurrent(h, actor, id, expectedRevision);
          int hardware =
              h.createQuery("SELECT COUNT(*) FROM hardware WHERE recording_server_id = :id")
                  .bind("id", id)
                  .mapTo(Integer.class)
                  .one();
          if (hardware > 0) {
            throw ApiException.conflict(
                "in_use",
                "Server \""
                    + before.name()
                    + "\" still has "
                    + hardware
                    + " hardware device(s) assigned. Move them to another recording server or"
                    + " remove them first.");
          }
          h.createUpdate("DELETE FROM servers WHERE id = :id").bind("id", id).execute();
          AuditLog.record(h, actor, "server.unregistered", TYPE, id.toString(), before, null);
          return null;
        });
  }

  /**
   * Records that a server reported in: it is online as of the database's clock now. A component may
   * report only for the server it registered.
   */
  public Server heartbeat(Principal actor, UUID id) {
    return fence.write(
        h -> {
          Server server = lockCurrent(h, actor, id, null);
          if (ServerStatus.DISABLED.id().equals(server.status())) {
            throw ApiException.conflict(
                "server_disabled",
                "Server \"" + server.name() + "\" is disabled; an operator must enable it first.");
          }
          h.createUpdate(
                  "UPDATE servers SET status = :online, last_seen_at = CURRENT_TIMESTAMP"
                      + " WHERE id = :id")
              .bind("online", ServerStatus.ONLINE.id())
              .bind("id", id)
              .execute();
          return find(h, id).orElseThrow();
        });
  }

  static Optional<Server> find(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM servers WHERE id = :id")
        .bind("id", id)
        .map(ServerRegistry::row)
        .findOne()
        .map(Page.Keyed::value);
  }

  private static Optional<Server> lock(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM servers WHERE id = :id FOR UPDATE")
        .bind("id", id)
        .map(ServerRegistry::row)
        .findOne()
        .map(Page.Keyed::value);
  }

  /**
   * Locks the row and checks that the caller may change it and, when {@code expectedRevision} is
   * given, saw the current revision.
   */
  private static Server lockCurrent(Handle h, Principal actor, UUID id, Long expectedRevision) {
    Server current = lock(h, id).orElseThrow(() -> notFound(id));
    ServerOwnership.checkChange(actor, current);
    if (expectedRevision != null && current.revision() != expectedRevision) {
      throw versionConflict("Server", current.name(), expectedRevision, current.revision());
    }
    return current;
  }

  static ApiException versionConflict(String what, String name, long expected, long current) {
    return ApiException.conflict(
        "version_conflict",
        what
            + " \""
            + name
            + "\" was changed by someone else (your revision "
            + expected
            + ", current "
            + current
            + "). Read it again, reapply your change and send the new ETag in If-Match.");
  }

  private static ApiException notFound(UUID id) {
    return ApiException.notFound("Server", id.toString());
  }

  private static ServerType type(String id) {
    if (id == null) {
      throw ApiException.badRequest("missing_field", "Field \"type\" is required.");
    }
    return ServerType.fromId(id)
        .orElseThrow(
            () ->
                ApiException.badRequest(
                    "invalid_type",
                    "Server type \""
                        + Text.excerpt(id)
                        + "\" is unknown. Use one of: "
                        + ServerType.allIds()
                        + "."));
  }

  private static ServerStatus status(String id) {
    return ServerStatus.fromId(id)
        .orElseThrow(
            () ->
                ApiException.badRequest(
                    "invalid_status",
                    "Server status \""
                        + Text.excerpt(id)
                        + "\" is unknown. Use one of: "
                        + ServerStatus.allIds()
                        + "."));
  }

  static String key(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  /** Runs a write that may hit the unique name constraint and turns that into a clear 409. */
  static <T> T uniqueName(String name, java.util.function.Supplier<T> write) {
    try {
      return write.get();
    } catch (UnableToExecuteStatementException e) {
      if (Sql.isUniqueViolation(e)) {
        throw ApiException.conflict(
            "duplicate_name",
            "The name \""
                + name
                + "\" is already in use (names are unique regardless of case). Choose another name.");
      }
      throw e;
    }
  }

  private static Page.Keyed<Server> row(
      ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx) throws SQLException {
    return new Page.Keyed<>(
        rs.getString("name_key"),
        new Server(
            rs.getObject("id", UUID.class),
            rs.getString("name"),
            rs.getString("type"),
            rs.getString("address"),
            rs.getString("sw_version"),
            rs.getString("status"),
            rs.getLong("revision"),
            Sql.instant(rs.getTimestamp("registered_at")),
            rs.getString("registered_by"),
            Sql.instant(rs.getTimestamp("updated_at")),
            Sql.instant(rs.getTimestamp("last_seen_at"))));
  }
}
