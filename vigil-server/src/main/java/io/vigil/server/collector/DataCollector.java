package io.vigil.server.collector;

import io.vigil.client.ServerStatus;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Dialect;
import io.vigil.server.db.Sql;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Marks registered servers offline when their heartbeats stop, with a {@code server.offline} event.
 * The {@code data-collector} resource calls {@link #sweep} about once a second on the node that
 * owns the role; a heartbeat brings a server back online ({@code ServerRegistry}).
 *
 * <p>Cost: one read per sweep, which finds only the servers already overdue (the database compares
 * its own clock with each server's last heartbeat, or its registration, plus {@code
 * missedHeartbeats} × its interval). Only when it finds some does a fenced write follow, which
 * locks them, decides again with {@link ServerLiveness} and marks the ones still overdue: a
 * heartbeat that arrived between the read and the write wins.
 */
public final class DataCollector {

  private final Fence fence;
  private final Dialect dialect;
  private final ServerLiveness liveness;
  private final SiteEvents events;

  public DataCollector(Fence fence, Dialect dialect, ServerLiveness liveness, SiteEvents events) {
    this.fence = fence;
    this.dialect = dialect;
    this.liveness = liveness;
    this.events = events;
  }

  private record Silent(
      UUID id,
      String name,
      ServerStatus status,
      Instant registeredAt,
      Instant lastSeenAt,
      int intervalSeconds,
      Instant now) {}

  /**
   * Marks overdue servers offline and raises an event for each.
   *
   * @return how many servers went offline
   * @throws io.vigil.server.cluster.FencedException when this node no longer owns the role
   */
  public int sweep() {
    if (fence.read(h -> overdue(h, false)).isEmpty()) {
      return 0;
    }
    return fence.write(
        h -> {
          int marked = 0;
          for (Silent s : overdue(h, true)) {
            ServerStatus next =
                liveness.afterSilence(
                    s.now(),
                    s.registeredAt(),
                    s.lastSeenAt(),
                    Duration.ofSeconds(s.intervalSeconds()),
                    s.status());
            if (next != ServerStatus.OFFLINE) {
              continue;
            }
            h.createUpdate("UPDATE servers SET status = :offline WHERE id = :id")
                .bind("offline", ServerStatus.OFFLINE.id())
                .bind("id", s.id())
                .execute();
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("name", s.name());
            data.put("lastSeenAt", s.lastSeenAt() == null ? null : s.lastSeenAt().toString());
            data.put("heartbeatIntervalSeconds", s.intervalSeconds());
            data.put("missedHeartbeats", liveness.missedHeartbeats());
            events.raise(
                h,
                "server.offline",
                s.id().toString(),
                "warning",
                "Server \""
                    + s.name()
                    + "\" sent no heartbeat for "
                    + liveness.missedHeartbeats()
                    + " intervals of "
                    + s.intervalSeconds()
                    + " s"
                    + (s.lastSeenAt() == null ? " since it was registered" : "")
                    + "; check that it is running and can reach the management server.",
                data);
            marked++;
          }
          return marked;
        });
  }

  private List<Silent> overdue(Handle h, boolean lock) {
    return h.createQuery(
            "SELECT id, name, status, registered_at, last_seen_at, heartbeat_interval_seconds,"
                + " CURRENT_TIMESTAMP AS db_now FROM servers WHERE status IN (:online, :unknown)"
                + " AND COALESCE(last_seen_at, registered_at) < "
                + dialect.nowMinusSeconds(
                    liveness.missedHeartbeats() + " * heartbeat_interval_seconds")
                + (lock ? " FOR UPDATE" : ""))
        .bind("online", ServerStatus.ONLINE.id())
        .bind("unknown", ServerStatus.UNKNOWN.id())
        .map(DataCollector::silent)
        .list();
  }

  private static Silent silent(ResultSet rs, org.jdbi.v3.core.statement.StatementContext ctx)
      throws SQLException {
    return new Silent(
        rs.getObject("id", UUID.class),
        rs.getString("name"),
        ServerStatus.fromId(rs.getString("status")).orElseThrow(),
        Sql.instant(rs.getTimestamp("registered_at")),
        Sql.instant(rs.getTimestamp("last_seen_at")),
        rs.getInt("heartbeat_interval_seconds"),
        Sql.instant(rs.getTimestamp("db_now")));
  }
}
