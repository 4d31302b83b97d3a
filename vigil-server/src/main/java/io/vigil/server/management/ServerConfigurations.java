package io.vigil.server.management;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vigil.client.ServerConfiguration;
import io.vigil.client.ServerStatus;
import io.vigil.server.cluster.Fence;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * A server's configuration ({@link ServerConfiguration}): what a component reads at start and
 * watches. Its ETag is a hash of the configuration's JSON, so it changes exactly when something a
 * component configures from changes, and never with a heartbeat.
 */
public final class ServerConfigurations {

  private final Fence fence;

  public ServerConfigurations(Fence fence) {
    this.fence = fence;
  }

  /**
   * Reads the configuration in one read transaction, with its ETag.
   *
   * @throws ApiException 404 when no such server is registered
   */
  public ServerConfiguration read(UUID serverId) {
    ServerConfiguration c =
        fence.read(
            h -> {
              Server s =
                  ServerRegistry.find(h, serverId)
                      .orElseThrow(() -> ApiException.notFound("Server", serverId.toString()));
              List<ServerConfiguration.Hardware> hardware =
                  h.createQuery(
                          "SELECT id, name, address, model, username, password_protected, enabled,"
                              + " revision FROM hardware WHERE recording_server_id = :id ORDER BY"
                              + " name_key")
                      .bind("id", serverId)
                      .map(
                          (rs, ctx) ->
                              new ServerConfiguration.Hardware(
                                  rs.getObject("id", UUID.class),
                                  rs.getString("name"),
                                  rs.getString("address"),
                                  rs.getString("model"),
                                  rs.getString("username"),
                                  rs.getBytes("password_protected") != null,
                                  rs.getBoolean("enabled"),
                                  rs.getLong("revision")))
                      .list();
              List<ServerConfiguration.Camera> cameras =
                  h.createQuery(
                          "SELECT c.id, c.name, c.hardware_id, c.channel, c.enabled, c.revision"
                              + " FROM cameras c JOIN hardware hw ON hw.id = c.hardware_id WHERE"
                              + " hw.recording_server_id = :id ORDER BY c.name_key")
                      .bind("id", serverId)
                      .map(
                          (rs, ctx) ->
                              new ServerConfiguration.Camera(
                                  rs.getObject("id", UUID.class),
                                  rs.getString("name"),
                                  rs.getObject("hardware_id", UUID.class),
                                  rs.getInt("channel"),
                                  rs.getBoolean("enabled"),
                                  rs.getLong("revision")))
                      .list();
              return new ServerConfiguration(
                  new ServerConfiguration.Server(
                      s.id(),
                      s.name(),
                      s.type(),
                      s.address(),
                      s.version(),
                      !ServerStatus.DISABLED.id().equals(s.status()),
                      s.revision(),
                      s.heartbeatIntervalSeconds()),
                  hardware,
                  cameras,
                  null);
            });
    return c.withEtag(etag(c));
  }

  /** {@code "c-<first 32 hex digits of the SHA-256 of the configuration's JSON>"}, quoted. */
  static String etag(ServerConfiguration c) {
    try {
      byte[] json = Json.MAPPER.writeValueAsBytes(c.withEtag(null));
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(json);
      return "\"c-" + HexFormat.of().formatHex(digest, 0, 16) + "\"";
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash a configuration", e);
    }
  }
}
