package io.vigil.server.collector;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vigil.client.ServerStatus;
import io.vigil.server.cluster.Fence;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;

/**
 * The site's figures on {@code /metrics}: registered servers by connection and monitor state,
 * alarms by state and priority, and events stored. A scrape never queries the database: the gauges
 * read a snapshot that the owner's data collector refreshes at most every {@link #REFRESH_EVERY}
 * (two grouped reads). A node that does not own the role reports no site gauges ({@link #clear}),
 * so a scrape of every node counts each server once; its events counter stays as it was.
 *
 * <ul>
 *   <li>{@code vigil_site_servers{connection, state}}: servers per connection ({@code online},
 *       {@code offline}, {@code unknown}) and monitor state (worst of its figures: {@code
 *       critical}, {@code warning}, {@code normal}, or {@code unknown} before a first decision).
 *   <li>{@code vigil_site_alarms{state, priority}}: alarms per state and priority.
 *   <li>{@code vigil_site_events_stored_total}: events this node stored (posted ones once, not
 *       their retries, and Vigil's own); {@code rate()} gives the event rate.
 * </ul>
 */
public final class SiteFigures {

  static final Duration REFRESH_EVERY = Duration.ofSeconds(5);

  private final Fence fence;
  private final Clock clock;
  private final MultiGauge servers;
  private final MultiGauge alarms;
  private final Counter events;
  private Instant refreshed;

  public SiteFigures(Fence fence, Clock clock, MeterRegistry metrics) {
    this.fence = fence;
    this.clock = clock;
    this.servers =
        MultiGauge.builder("vigil.site.servers")
            .description("Registered servers by connection and system monitor state (owner only)")
            .register(metrics);
    this.alarms =
        MultiGauge.builder("vigil.site.alarms")
            .description("Alarms by state and priority (owner only)")
            .register(metrics);
    this.events =
        Counter.builder("vigil.site.events.stored")
            .description("Events stored by this node; rate() is the site's event rate")
            .register(metrics);
  }

  /** Counts {@code n} events stored. */
  public void stored(long n) {
    if (n > 0) {
      events.increment((double) n);
    }
  }

  /** Reads the figures again unless the snapshot is younger than {@link #REFRESH_EVERY}. */
  public synchronized void refresh() {
    Instant now = clock.instant();
    if (refreshed != null && Duration.between(refreshed, now).compareTo(REFRESH_EVERY) < 0) {
      return;
    }
    Snapshot s = fence.read(SiteFigures::read);
    servers.register(rows(s.servers(), "connection", "state"), true);
    alarms.register(rows(s.alarms(), "state", "priority"), true);
    refreshed = now;
  }

  /** Reports no site gauges: this node does not own the role (any more). */
  public synchronized void clear() {
    servers.register(List.of(), true);
    alarms.register(List.of(), true);
    refreshed = null;
  }

  /** Counts per pair of tag values. */
  record Snapshot(Map<List<String>, Long> servers, Map<List<String>, Long> alarms) {}

  static Snapshot read(Handle h) {
    Map<String, String> status = new HashMap<>();
    h.createQuery("SELECT id, status FROM servers")
        .map((rs, ctx) -> Map.entry(rs.getString("id"), rs.getString("status")))
        .forEach(e -> status.put(e.getKey(), e.getValue()));
    Map<String, MonitorLevel> worst = new HashMap<>();
    h.createQuery("SELECT server_id, state FROM monitor_state")
        .map((rs, ctx) -> Map.entry(rs.getString("server_id"), rs.getString("state")))
        .forEach(
            e ->
                worst.merge(
                    e.getKey(),
                    MonitorLevel.fromId(e.getValue()).orElse(MonitorLevel.UNKNOWN),
                    MonitorLevel::worse));
    Map<List<String>, Long> servers = new HashMap<>();
    status.forEach(
        (id, st) -> {
          String connection =
              ServerLiveness.connection(ServerStatus.fromId(st).orElse(ServerStatus.UNKNOWN));
          String state = worst.getOrDefault(id, MonitorLevel.UNKNOWN).id();
          servers.merge(List.of(connection, state), 1L, Long::sum);
        });
    Map<List<String>, Long> alarms = new HashMap<>();
    h.createQuery("SELECT state, priority, COUNT(*) AS n FROM alarms GROUP BY state, priority")
        .map(
            (rs, ctx) ->
                Map.entry(
                    List.of(rs.getString("state"), Integer.toString(rs.getInt("priority"))),
                    rs.getLong("n")))
        .forEach(e -> alarms.put(e.getKey(), e.getValue()));
    return new Snapshot(servers, alarms);
  }

  private static List<MultiGauge.Row<?>> rows(Map<List<String>, Long> counts, String a, String b) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    counts.forEach((k, n) -> rows.add(MultiGauge.Row.of(Tags.of(a, k.get(0), b, k.get(1)), n)));
    return rows;
  }
}
