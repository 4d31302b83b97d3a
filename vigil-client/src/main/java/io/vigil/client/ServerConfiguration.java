package io.vigil.client;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.List;
import java.util.UUID;

/**
 * A server's configuration as {@code GET /api/v1/servers/{id}/configuration} shows it: the
 * registration's settings, and the hardware and cameras assigned to it. The management server
 * builds its answer with these same records. Live figures (status, last heartbeat, load) are not
 * part of it, so a heartbeat never changes a configuration's ETag.
 *
 * @param etag the answer's {@code ETag}, for {@code If-None-Match}; set by the SDK, absent from the
 *     JSON
 */
public record ServerConfiguration(
    Server server, List<Hardware> hardware, List<Camera> cameras, @JsonIgnore String etag) {

  /** This configuration with the ETag it was served with. */
  public ServerConfiguration withEtag(String value) {
    return new ServerConfiguration(server, hardware, cameras, value);
  }

  /**
   * The server's own settings.
   *
   * @param enabled false once an operator disabled the server
   * @param revision the server object's revision
   */
  public record Server(
      UUID id,
      String name,
      String type,
      String address,
      String version,
      boolean enabled,
      long revision,
      int heartbeatIntervalSeconds) {}

  /** A hardware device the server records from; its password is never shown. */
  public record Hardware(
      UUID id,
      String name,
      String address,
      String model,
      String username,
      boolean passwordSet,
      boolean enabled,
      long revision) {}

  /** A camera: one channel of a hardware device. */
  public record Camera(
      UUID id, String name, UUID hardwareId, int channel, boolean enabled, long revision) {}
}
