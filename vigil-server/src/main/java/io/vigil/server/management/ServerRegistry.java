package io.vigil.server.management;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vigil.client.NewServer;
import io.vigil.client.ServerStatus;
import io.vigil.client.ServerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.ServerLiveness;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.db.Dialect;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import io.vigil.server.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * The server registry: every recording server, mobile server, gateway … registered with this site.
 * Names are unique regardless of case. Every change is fenced and audited, except heartbeats: they
 * only record that a server reported in, with its load figures, and must stay cheap.
 */
public final class ServerRegistry {

  static final String TYPE = "server";
  private static final Set<String> SCHEMES = Set.of("http", "https");

  static final int DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 5;
  static final int MAX_HEARTBEAT_INTERVAL_SECONDS = 3600;
  static final int MAX_DISKS = 32;
  static final int MAX_VOLUME_CHARS = 200;

  private final Fence fence;
  private final SiteEvents events;
  private final java.util.function.BiConsumer<UUID, io.vigil.client.Load> figures;
  private final HeartbeatBatches beats;
  private final ConfigurationSignal signal;

  /** Runs each heartbeat that takes the longer way, off the batch writer's thread. */
  private static final Executor LONGER_WAY =
      r -> Thread.ofVirtual().name("vigil-heartbeat").start(r);

  public ServerRegistry(Fence fence, Dialect dialect, SiteEvents events) {
    this(fence, dialect, events, (id, load) -> {}, new ConfigurationSignal(), Duration.ZERO);
  }

  public ServerRegistry(
      Fence fence,
      Dialect dialect,
      SiteEvents events,
      java.util.function.BiConsumer<UUID, io.vigil.client.Load> figures) {
    this(fence, dialect, events, figures, new ConfigurationSignal(), Duration.ZERO);
  }

  public ServerRegistry(
      Fence fence, Dialect dialect, SiteEvents events, ConfigurationSignal signal) {
    this(fence, dialect, events, (id, load) -> {}, signal, Duration.ZERO);
  }

  /**
   * @param figures takes the load figures of each heartbeat that was recorded (the system monitor's
   *     samples), after its transaction committed
   * @param signal told of every committed change to a server's configuration, for the long polls of
   *     {@code GET /api/v1/servers/{id}/configuration?wait=}
   * @param heartbeatBatch how long a heartbeat waits for others to share its transaction
   */
  public ServerRegistry(
      Fence fence,
      Dialect dialect,
      SiteEvents events,
      java.util.function.BiConsumer<UUID, io.vigil.client.Load> figures,
      ConfigurationSignal signal,
      Duration heartbeatBatch) {
    this.fence = fence;
    this.events = events;
    this.figures = figures;
    this.beats = new HeartbeatBatches(fence, dialect, heartbeatBatch);
    this.signal = signal;
  }

  /** The fields a caller may change; null leaves a field as it is. */
  public record Change(
      String name,
      String address,
      String version,
      String status,
      Integer heartbeatIntervalSeconds) {}

  public Server register(Principal actor, NewServer in) {
    NewServer valid = validate(in);
    return uniqueName(valid.name(), () -> fence.write(h -> insert(h, actor, valid)));
  }

  /**
   * Registers a server inside the caller's fenced transaction, recording {@code actor} as its
   * registrant when it is a component ({@link ServerOwnership}): component registration creates the
   * component's client and its server in one transaction. The caller turns a unique violation into
   * a 409 with {@link #uniqueName}.
   *
   * @throws ApiException 400 when a field is not valid
   */
  public Server register(Handle h, Principal actor, NewServer in) {
    return insert(h, actor, validate(in));
  }

  /** The registration with every field checked and normalised, or a 400. */
  public static NewServer validate(NewServer in) {
    String name = Validation.name("name", in.name());
    ServerType type = type(in.type());
    String address = Validation.address("address", in.address(), SCHEMES);
    String version = Validation.optionalText("version", in.version(), 100);
    int interval =
        in.heartbeatIntervalSeconds() == null
            ? DEFAULT_HEARTBEAT_INTERVAL_SECONDS
            : interval(in.heartbeatIntervalSeconds());
    return new NewServer(name, type.id(), address, version, interval);
  }

  private static Server insert(Handle h, Principal actor, NewServer valid) {
    UUID id = UUID.randomUUID();
    h.createUpdate(
            "INSERT INTO servers (id, name, name_key, type, address, sw_version, status,"
                + " revision, registered_at, registered_by, updated_at,"
                + " heartbeat_interval_seconds) VALUES (:id, :name, :key, :type,"
                + " :address, :version, :status, 1, CURRENT_TIMESTAMP, :registrant,"
                + " CURRENT_TIMESTAMP, :interval)")
        .bind("id", id)
        .bind("name", valid.name())
        .bind("key", key(valid.name()))
        .bind("type", valid.type())
        .bind("address", valid.address())
        .bind("version", valid.version())
        .bind("status", ServerStatus.UNKNOWN.id())
        .bind("registrant", ServerOwnership.registrant(actor))
        .bind("interval", valid.heartbeatIntervalSeconds())
        .execute();
    Server created = find(h, id).orElseThrow();
    AuditLog.record(h, actor, "server.registered", TYPE, id.toString(), null, created);
    return created;
  }

  Fence fence() {
    return fence;
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
    Integer interval =
        change.heartbeatIntervalSeconds() == null
            ? null
            : interval(change.heartbeatIntervalSeconds());
    Server updated =
        uniqueName(
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
                      set.add("heartbeat_interval_seconds", interval);
                      set.execute(h, "servers", id);
                      Server after = find(h, id).orElseThrow();
                      AuditLog.record(
                          h, actor, "server.updated", TYPE, id.toString(), before, after);
                      return after;
                    }));
    signal.changed(id);
    return updated;
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
    signal.changed(id);
  }

  /**
   * Records that a server reported in, as of the database's clock, with the load figures it sent
   * (null: none; the previous figures stay). A component may report only for the server it
   * registered; a disabled server's heartbeats are refused.
   *
   * <p>Cost: a server that is online already goes into a group commit ({@link HeartbeatBatches}):
   * the heartbeats that arrive while one transaction is written share the next, one batched {@code
   * UPDATE} and one read of the rows, so under load a heartbeat costs a share of a transaction and
   * about one statement; alone it costs one {@code UPDATE} that returns its row. Only a server
   * coming online (first heartbeat, back from offline) or a refused heartbeat takes the longer way,
   * which locks the row and checks why; coming back from offline raises {@code server.online}.
   * Heartbeats are not audited.
   *
   * <p>Asynchronous: the caller's thread is free while the heartbeat waits for its batch (the route
   * answers when the future completes). The longer way runs on a virtual thread of its own, never
   * on the batch writer's.
   *
   * @return completes with the server after the heartbeat, or exceptionally with an {@link
   *     ApiException}: 403 {@code not_your_server}, 404, 409 {@code server_disabled}
   * @throws ApiException 400 at once when a figure is out of range
   */
  public CompletableFuture<Server> heartbeat(Principal actor, UUID id, io.vigil.client.Load load) {
    String figuresJson = load == null ? null : figures(load);
    String registrant = ServerOwnership.isComponent(actor) ? actor.clientId() : null;
    return beats
        .beat(id, figuresJson, registrant)
        .thenCompose(
            online ->
                online.isPresent()
                    ? CompletableFuture.completedFuture(online.get())
                    : CompletableFuture.supplyAsync(
                        () -> longerWay(actor, id, figuresJson), LONGER_WAY))
        .thenApply(
            server -> {
              if (load != null) {
                figures.accept(id, load);
              }
              return server;
            });
  }

  /** A heartbeat that the batch did not record: a server coming online, or a refused one. */
  private Server longerWay(Principal actor, UUID id, String figures) {
    return fence.write(
        h -> {
          Server server = lockCurrent(h, actor, id, null);
          ServerStatus before = ServerStatus.fromId(server.status()).orElseThrow();
          if (ServerLiveness.afterHeartbeat(before) == ServerStatus.DISABLED) {
            throw ApiException.conflict(
                "server_disabled",
                "Server \"" + server.name() + "\" is disabled; an operator must enable it first.");
          }
          h.createUpdate(
                  "UPDATE servers SET status = :online, last_seen_at = CURRENT_TIMESTAMP,"
                      + " load_figures = COALESCE(CAST(:load AS VARCHAR(10000)), load_figures)"
                      + " WHERE id = :id")
              .bind("online", ServerStatus.ONLINE.id())
              .bind("load", figures)
              .bind("id", id)
              .execute();
          if (before == ServerStatus.OFFLINE) {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("name", server.name());
            data.put(
                "lastSeenAt", server.lastSeenAt() == null ? null : server.lastSeenAt().toString());
            events.raise(
                h,
                "server.online",
                id.toString(),
                "info",
                "Server \"" + server.name() + "\" is sending heartbeats again.",
                data);
          }
          return find(h, id).orElseThrow();
        });
  }

  /** Checks the figures and writes them as the JSON the row keeps. */
  static String figures(io.vigil.client.Load load) {
    percent("cpuPercent", load.cpuPercent());
    percent("memoryPercent", load.memoryPercent());
    notNegative("camerasRecording", load.camerasRecording());
    notNegative("storageUsedBytes", load.storageUsedBytes());
    notNegative("storageFreeBytes", load.storageFreeBytes());
    notNegative("streamsServed", load.streamsServed());
    List<io.vigil.client.Load.Disk> disks = load.disks();
    if (disks != null) {
      if (disks.size() > MAX_DISKS) {
        throw ApiException.badRequest(
            "invalid_value",
            "Field \"disks\" lists " + disks.size() + " volumes; send at most " + MAX_DISKS + ".");
      }
      for (int i = 0; i < disks.size(); i++) {
        io.vigil.client.Load.Disk d = disks.get(i);
        String field = "disks[" + i + "]";
        if (d == null) {
          throw ApiException.badRequest(
              "invalid_value", "Field \"" + field + "\" must be an object, not null.");
        }
        if (d.volume() == null
            || Validation.optionalText(field + ".volume", d.volume(), MAX_VOLUME_CHARS) == null) {
          throw ApiException.badRequest(
              "missing_field", "Field \"" + field + ".volume\" is required.");
        }
        if (d.freeBytes() == null || d.totalBytes() == null) {
          throw ApiException.badRequest(
              "missing_field",
              "Fields \"" + field + ".freeBytes\" and \"" + field + ".totalBytes\" are required.");
        }
        notNegative(field + ".freeBytes", d.freeBytes());
        notNegative(field + ".totalBytes", d.totalBytes());
        if (d.freeBytes() > d.totalBytes()) {
          throw ApiException.badRequest(
              "invalid_value",
              "Field \""
                  + field
                  + ".freeBytes\" ("
                  + d.freeBytes()
                  + ") is more than \""
                  + field
                  + ".totalBytes\" ("
                  + d.totalBytes()
                  + ").");
        }
      }
    }
    try {
      return Json.MAPPER.writeValueAsString(load);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("load figures cannot be written as JSON", e);
    }
  }

  private static void percent(String field, Double value) {
    if (value != null && !(value >= 0 && value <= 100)) {
      throw ApiException.badRequest(
          "invalid_value", "Field \"" + field + "\" must be between 0 and 100, not " + value + ".");
    }
  }

  private static void notNegative(String field, Long value) {
    if (value != null && value < 0) {
      throw ApiException.badRequest(
          "invalid_value", "Field \"" + field + "\" must be 0 or more, not " + value + ".");
    }
  }

  private static int interval(int seconds) {
    if (seconds < 1 || seconds > MAX_HEARTBEAT_INTERVAL_SECONDS) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \"heartbeatIntervalSeconds\" must be between 1 and "
              + MAX_HEARTBEAT_INTERVAL_SECONDS
              + ", not "
              + seconds
              + ".");
    }
    return seconds;
  }

  static Optional<Server> find(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM servers WHERE id = :id")
        .bind("id", id)
        .map(ServerRegistry::row)
        .findOne()
        .map(Page.Keyed::value);
  }

  /**
   * Locks server {@code id} inside the caller's transaction if it has never reported (no heartbeat:
   * {@code last_seen_at} is null) and has {@code name}, compared as names are unique (regardless of
   * case), and {@code type}; otherwise empty.
   */
  public static Optional<Server> lockNeverReported(Handle h, UUID id, String name, String type) {
    return h.createQuery(
            "SELECT * FROM servers WHERE id = :id AND name_key = :key AND type = :type"
                + " AND last_seen_at IS NULL FOR UPDATE")
        .bind("id", id)
        .bind("key", key(name))
        .bind("type", type)
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
  public static <T> T uniqueName(String name, java.util.function.Supplier<T> write) {
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

  static Page.Keyed<Server> row(ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx)
      throws SQLException {
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
            Sql.instant(rs.getTimestamp("last_seen_at")),
            rs.getInt("heartbeat_interval_seconds"),
            ServerLiveness.connection(
                ServerStatus.fromId(rs.getString("status")).orElse(ServerStatus.UNKNOWN)),
            load(rs.getString("load_figures"))));
  }

  private static io.vigil.client.Load load(String json) {
    if (json == null) {
      return null;
    }
    try {
      return Json.MAPPER.readValue(json, io.vigil.client.Load.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored load figures are not valid JSON", e);
    }
  }
}
