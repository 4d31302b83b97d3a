package io.vigil.server.management;

import io.vigil.client.ServerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.security.Principal;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;

/**
 * Hardware devices and their cameras. Every device is assigned to a recording server (a registered
 * server of type recording-server or failover-recording-server); a camera is recorded by its
 * device's server. A component manages devices only on the server it registered ({@link
 * ServerOwnership}). Device passwords are stored only encrypted by data protection.
 */
public final class Devices {

  static final String HARDWARE = "hardware";
  static final String CAMERA = "camera";
  static final String PASSWORD_PURPOSE = "management.hardware-password";
  private static final Set<String> SCHEMES = Set.of("http", "https", "rtsp");
  private static final Set<String> RECORDERS =
      Set.of(ServerType.RECORDING_SERVER.id(), ServerType.FAILOVER_RECORDING_SERVER.id());

  private static final String CAMERAS =
      "SELECT c.*, h.recording_server_id FROM cameras c JOIN hardware h ON h.id = c.hardware_id";

  /**
   * {@link #CAMERAS} as an outer join, for lists not filtered by recording server: the same rows
   * (every camera has its hardware, a foreign key), but the join order is fixed with cameras first,
   * so a page is read in name order from the index of {@code cameras_name_unique} and stops after
   * {@code limit} rows. With the inner join H2 starts from the smaller hardware table, joins every
   * camera and sorts them all: a first page took time linear in the number of cameras.
   */
  private static final String CAMERAS_BY_NAME =
      "SELECT c.*, h.recording_server_id FROM cameras c LEFT JOIN hardware h"
          + " ON h.id = c.hardware_id";

  private final Fence fence;
  private final DataProtector protector;
  private final ConfigurationSignal signal;

  public Devices(Fence fence, DataProtector protector) {
    this(fence, protector, new ConfigurationSignal());
  }

  /**
   * @param signal told of every committed change to the hardware and cameras of a server, for the
   *     long polls of {@code GET /api/v1/servers/{id}/configuration?wait=}
   */
  public Devices(Fence fence, DataProtector protector, ConfigurationSignal signal) {
    this.signal = signal;
    this.fence = fence;
    this.protector = protector;
  }

  public record NewHardware(
      String name,
      UUID recordingServerId,
      String address,
      String model,
      String username,
      String password,
      Boolean enabled) {}

  /** A change to a device; null leaves a field as it is, "" clears model, username, password. */
  public record HardwareChange(
      String name,
      UUID recordingServerId,
      String address,
      String model,
      String username,
      String password,
      Boolean enabled) {}

  public record NewCamera(String name, UUID hardwareId, Integer channel, Boolean enabled) {}

  public record CameraChange(String name, Integer channel, Boolean enabled) {}

  // ---- hardware

  public Hardware addHardware(Principal actor, NewHardware in) {
    String name = Validation.name("name", in.name());
    String address = Validation.address("address", in.address(), SCHEMES);
    String model = Validation.optionalText("model", in.model(), 200);
    String username = Validation.optionalText("username", in.username(), 200);
    if (in.recordingServerId() == null) {
      throw ApiException.badRequest("missing_field", "Field \"recordingServerId\" is required.");
    }
    byte[] password = protectPassword(in.password());
    UUID id = UUID.randomUUID();
    Hardware added =
        ServerRegistry.uniqueName(
            name,
            () ->
                fence.write(
                    h -> {
                      ServerOwnership.checkChange(
                          actor, requireRecorder(h, in.recordingServerId()));
                      h.createUpdate(
                              "INSERT INTO hardware (id, name, name_key, recording_server_id, address,"
                                  + " model, username, password_protected, enabled, revision, created_at,"
                                  + " updated_at) VALUES (:id, :name, :key, :server, :address, :model,"
                                  + " :username, :password, :enabled, 1, CURRENT_TIMESTAMP,"
                                  + " CURRENT_TIMESTAMP)")
                          .bind("id", id)
                          .bind("name", name)
                          .bind("key", ServerRegistry.key(name))
                          .bind("server", in.recordingServerId())
                          .bind("address", address)
                          .bind("model", model)
                          .bind("username", username)
                          .bindByType("password", password, byte[].class)
                          .bind("enabled", in.enabled() == null || in.enabled())
                          .execute();
                      Hardware created = findHardware(h, id).orElseThrow();
                      AuditLog.record(
                          h, actor, "hardware.added", HARDWARE, id.toString(), null, created);
                      return created;
                    }));
    signal.changed(added.recordingServerId());
    return added;
  }

  public Page<Hardware> listHardware(UUID recordingServerId, String cursor, int limit) {
    return fence.read(
        h ->
            Page.query(
                h,
                "SELECT * FROM hardware",
                "name_key",
                cursor,
                limit,
                Devices::hardwareRow,
                "recording_server_id",
                recordingServerId));
  }

  public Hardware getHardware(UUID id) {
    return fence.read(h -> findHardware(h, id)).orElseThrow(() -> hardwareNotFound(id));
  }

  /**
   * The device's password in clear, for the recording server that connects to it. Not exposed over
   * the management API yet; the component configuration endpoint will use it.
   */
  public Optional<String> hardwarePassword(UUID id) {
    byte[] stored =
        fence.read(
            h ->
                h.createQuery("SELECT password_protected FROM hardware WHERE id = :id")
                    .bind("id", id)
                    .mapTo(byte[].class)
                    .findOne()
                    .orElseThrow(() -> hardwareNotFound(id)));
    return Optional.ofNullable(stored)
        .map(b -> new String(protector.unprotect(PASSWORD_PURPOSE, b), StandardCharsets.UTF_8));
  }

  public Hardware updateHardware(
      Principal actor, UUID id, long expectedRevision, HardwareChange change) {
    String name = change.name() == null ? null : Validation.name("name", change.name());
    String address =
        change.address() == null ? null : Validation.address("address", change.address(), SCHEMES);
    java.util.concurrent.atomic.AtomicReference<UUID> server =
        new java.util.concurrent.atomic.AtomicReference<>();
    Hardware updated =
        ServerRegistry.uniqueName(
            name,
            () ->
                fence.write(
                    h -> {
                      Hardware before = lockHardware(h, actor, id, expectedRevision);
                      server.set(before.recordingServerId());
                      if (change.recordingServerId() != null) {
                        ServerOwnership.checkChange(
                            actor, requireRecorder(h, change.recordingServerId()));
                      }
                      Updates set = new Updates();
                      if (name != null) {
                        set.add("name", name).add("name_key", ServerRegistry.key(name));
                      }
                      set.add("address", address)
                          .add("recording_server_id", change.recordingServerId());
                      if (change.model() != null) {
                        set.addNullable(
                            "model",
                            Validation.optionalText("model", change.model(), 200),
                            Types.VARCHAR);
                      }
                      if (change.username() != null) {
                        set.addNullable(
                            "username",
                            Validation.optionalText("username", change.username(), 200),
                            Types.VARCHAR);
                      }
                      if (change.password() != null) {
                        set.addNullable(
                            "password_protected",
                            protectPassword(change.password()),
                            Types.VARBINARY);
                      }
                      set.add("enabled", change.enabled());
                      set.execute(h, "hardware", id);
                      Hardware after = findHardware(h, id).orElseThrow();
                      AuditLog.record(
                          h, actor, "hardware.updated", HARDWARE, id.toString(), before, after);
                      return after;
                    }));
    signal.changed(server.get());
    signal.changed(updated.recordingServerId());
    return updated;
  }

  /** Removes a device and its cameras. */
  public void removeHardware(Principal actor, UUID id, Long expectedRevision) {
    Hardware removed =
        fence.write(
            h -> {
              Hardware before = lockHardware(h, actor, id, expectedRevision);
              List<Camera> cameras =
                  h
                      .createQuery(CAMERAS + " WHERE c.hardware_id = :id")
                      .bind("id", id)
                      .map(Devices::cameraRow)
                      .list()
                      .stream()
                      .map(Page.Keyed::value)
                      .toList();
              for (Camera camera : cameras) {
                h.createUpdate("DELETE FROM cameras WHERE id = :id")
                    .bind("id", camera.id())
                    .execute();
                AuditLog.record(
                    h, actor, "camera.removed", CAMERA, camera.id().toString(), camera, null);
              }
              h.createUpdate("DELETE FROM hardware WHERE id = :id").bind("id", id).execute();
              AuditLog.record(h, actor, "hardware.removed", HARDWARE, id.toString(), before, null);
              return before;
            });
    signal.changed(removed.recordingServerId());
  }

  // ---- cameras

  public Camera addCamera(Principal actor, NewCamera in) {
    String name = Validation.name("name", in.name());
    if (in.hardwareId() == null) {
      throw ApiException.badRequest("missing_field", "Field \"hardwareId\" is required.");
    }
    int channel = channel(in.channel());
    UUID id = UUID.randomUUID();
    Camera added =
        uniqueCamera(
            name,
            channel,
            () ->
                fence.write(
                    h -> {
                      Hardware hardware =
                          findHardware(h, in.hardwareId())
                              .orElseThrow(
                                  () ->
                                      ApiException.badRequest(
                                          "unknown_hardware",
                                          "Hardware \""
                                              + in.hardwareId()
                                              + "\" does not exist. Add the device first (POST"
                                              + " /api/v1/hardware)."));
                      checkServer(h, actor, hardware.recordingServerId());
                      h.createUpdate(
                              "INSERT INTO cameras (id, name, name_key, hardware_id, channel, enabled,"
                                  + " revision, created_at, updated_at) VALUES (:id, :name, :key, :hw,"
                                  + " :channel, :enabled, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
                          .bind("id", id)
                          .bind("name", name)
                          .bind("key", ServerRegistry.key(name))
                          .bind("hw", in.hardwareId())
                          .bind("channel", channel)
                          .bind("enabled", in.enabled() == null || in.enabled())
                          .execute();
                      Camera created = findCamera(h, id).orElseThrow();
                      AuditLog.record(
                          h, actor, "camera.added", CAMERA, id.toString(), null, created);
                      return created;
                    }));
    signal.changed(added.recordingServerId());
    return added;
  }

  public Page<Camera> listCameras(
      UUID hardwareId, UUID recordingServerId, String cursor, int limit) {
    return fence.read(
        h ->
            Page.query(
                h,
                // By recording server the inner join starts from that server's hardware.
                recordingServerId == null ? CAMERAS_BY_NAME : CAMERAS,
                "c.name_key",
                cursor,
                limit,
                Devices::cameraRow,
                "c.hardware_id",
                hardwareId,
                "h.recording_server_id",
                recordingServerId));
  }

  public Camera getCamera(UUID id) {
    return fence.read(h -> findCamera(h, id)).orElseThrow(() -> cameraNotFound(id));
  }

  public Camera updateCamera(Principal actor, UUID id, long expectedRevision, CameraChange change) {
    String name = change.name() == null ? null : Validation.name("name", change.name());
    Integer channel = change.channel() == null ? null : channel(change.channel());
    Camera updated =
        uniqueCamera(
            name,
            channel == null ? -1 : channel,
            () ->
                fence.write(
                    h -> {
                      Camera before = lockCamera(h, actor, id, expectedRevision);
                      Updates set = new Updates();
                      if (name != null) {
                        set.add("name", name).add("name_key", ServerRegistry.key(name));
                      }
                      set.add("channel", channel).add("enabled", change.enabled());
                      set.execute(h, "cameras", id);
                      Camera after = findCamera(h, id).orElseThrow();
                      AuditLog.record(
                          h, actor, "camera.updated", CAMERA, id.toString(), before, after);
                      return after;
                    }));
    signal.changed(updated.recordingServerId());
    return updated;
  }

  public void removeCamera(Principal actor, UUID id, Long expectedRevision) {
    Camera removed =
        fence.write(
            h -> {
              Camera before = lockCamera(h, actor, id, expectedRevision);
              h.createUpdate("DELETE FROM cameras WHERE id = :id").bind("id", id).execute();
              AuditLog.record(h, actor, "camera.removed", CAMERA, id.toString(), before, null);
              return before;
            });
    signal.changed(removed.recordingServerId());
  }

  // ---- helpers

  private byte[] protectPassword(String password) {
    if (password == null || password.isEmpty()) {
      return null;
    }
    if (io.vigil.server.http.Text.length(password) > 200) {
      throw ApiException.badRequest(
          "invalid_value", "Field \"password\" must be at most 200 characters.");
    }
    return protector.protect(PASSWORD_PURPOSE, password.getBytes(StandardCharsets.UTF_8));
  }

  /** Checks that the caller may manage devices on the server; it exists (a foreign key). */
  private static void checkServer(Handle h, Principal actor, UUID serverId) {
    ServerOwnership.checkChange(actor, ServerRegistry.find(h, serverId).orElseThrow());
  }

  private static Server requireRecorder(Handle h, UUID serverId) {
    Server server =
        ServerRegistry.find(h, serverId)
            .orElseThrow(
                () ->
                    ApiException.badRequest(
                        "unknown_recording_server",
                        "Recording server \""
                            + serverId
                            + "\" is not registered. Register it first or pick one from GET /api/v1/servers?type=recording-server."));
    if (!RECORDERS.contains(server.type())) {
      throw ApiException.badRequest(
          "not_a_recording_server",
          "Server \""
              + server.name()
              + "\" is a "
              + server.type()
              + ", not a recording server; hardware can only be assigned to a recording server.");
    }
    return server;
  }

  private static int channel(Integer channel) {
    if (channel == null) {
      throw ApiException.badRequest("missing_field", "Field \"channel\" is required.");
    }
    if (channel < 0 || channel > 1023) {
      throw ApiException.badRequest(
          "invalid_channel", "Field \"channel\" must be from 0 to 1023, got " + channel + ".");
    }
    return channel;
  }

  private static <T> T uniqueCamera(
      String name, int channel, java.util.function.Supplier<T> write) {
    try {
      return write.get();
    } catch (UnableToExecuteStatementException e) {
      if (Sql.isUniqueViolation(e)) {
        String message = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("cameras_channel_unique")) {
          throw ApiException.conflict(
              "duplicate_channel",
              "Channel "
                  + channel
                  + " of this hardware already has a camera. Choose another channel.");
        }
        throw ApiException.conflict(
            "duplicate_name",
            "The name \""
                + name
                + "\" is already in use (names are unique regardless of case). Choose another name.");
      }
      throw e;
    }
  }

  /** Locks the device and checks the caller may manage it and saw its current revision. */
  private static Hardware lockHardware(Handle h, Principal actor, UUID id, Long expectedRevision) {
    Hardware current =
        h.createQuery("SELECT * FROM hardware WHERE id = :id FOR UPDATE")
            .bind("id", id)
            .map(Devices::hardwareRow)
            .findOne()
            .map(Page.Keyed::value)
            .orElseThrow(() -> hardwareNotFound(id));
    checkServer(h, actor, current.recordingServerId());
    if (expectedRevision != null && current.revision() != expectedRevision) {
      throw ServerRegistry.versionConflict(
          "Hardware", current.name(), expectedRevision, current.revision());
    }
    return current;
  }

  /** Locks the camera and checks the caller may manage it and saw its current revision. */
  private static Camera lockCamera(Handle h, Principal actor, UUID id, Long expectedRevision) {
    h.createQuery("SELECT id FROM cameras WHERE id = :id FOR UPDATE")
        .bind("id", id)
        .mapTo(UUID.class)
        .findOne();
    Camera current = findCamera(h, id).orElseThrow(() -> cameraNotFound(id));
    checkServer(h, actor, current.recordingServerId());
    if (expectedRevision != null && current.revision() != expectedRevision) {
      throw ServerRegistry.versionConflict(
          "Camera", current.name(), expectedRevision, current.revision());
    }
    return current;
  }

  private static Optional<Hardware> findHardware(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM hardware WHERE id = :id")
        .bind("id", id)
        .map(Devices::hardwareRow)
        .findOne()
        .map(Page.Keyed::value);
  }

  private static Optional<Camera> findCamera(Handle h, UUID id) {
    return h.createQuery(CAMERAS + " WHERE c.id = :id")
        .bind("id", id)
        .map(Devices::cameraRow)
        .findOne()
        .map(Page.Keyed::value);
  }

  private static ApiException hardwareNotFound(UUID id) {
    return ApiException.notFound("Hardware", id.toString());
  }

  private static ApiException cameraNotFound(UUID id) {
    return ApiException.notFound("Camera", id.toString());
  }

  private static Page.Keyed<Hardware> hardwareRow(ResultSet rs, StatementContext ctx)
      throws SQLException {
    return new Page.Keyed<>(
        rs.getString("name_key"),
        new Hardware(
            rs.getObject("id", UUID.class),
            rs.getString("name"),
            rs.getObject("recording_server_id", UUID.class),
            rs.getString("address"),
            rs.getString("model"),
            rs.getString("username"),
            rs.getBytes("password_protected") != null,
            rs.getBoolean("enabled"),
            rs.getLong("revision"),
            Sql.instant(rs.getTimestamp("created_at")),
            Sql.instant(rs.getTimestamp("updated_at"))));
  }

  private static Page.Keyed<Camera> cameraRow(ResultSet rs, StatementContext ctx)
      throws SQLException {
    return new Page.Keyed<>(
        rs.getString("name_key"),
        new Camera(
            rs.getObject("id", UUID.class),
            rs.getString("name"),
            rs.getObject("hardware_id", UUID.class),
            rs.getObject("recording_server_id", UUID.class),
            rs.getInt("channel"),
            rs.getBoolean("enabled"),
            rs.getLong("revision"),
            Sql.instant(rs.getTimestamp("created_at")),
            Sql.instant(rs.getTimestamp("updated_at"))));
  }
}
