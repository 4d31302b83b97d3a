package io.vigil.server.collector;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.vigil.client.ServerStatus;
import io.vigil.client.ServerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.MonitorEvaluator.Result;
import io.vigil.server.collector.MonitorEvaluator.Sample;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import io.vigil.server.management.Page;
import io.vigil.server.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * The system monitor. Heartbeats reach only the node that owns the role, which keeps each server's
 * recent samples in memory ({@link #record}: no statement of its own, so a heartbeat stays one
 * {@code UPDATE}). Every calculation tick ({@link #tick}, run by the {@code data-collector}
 * resource) averages each figure's calculation interval ({@link MonitorEvaluator}) and, in one
 * fenced transaction, writes one history row per server and figure (a batch), the states that
 * changed, and a {@code monitor.<figure>.<state>} event (e.g. {@code monitor.disk_free.critical})
 * for each change, so that an alarm definition can raise an alarm on it.
 *
 * <p>After a failover the new owner starts with empty windows and decides nothing until it has
 * samples covering half an interval; it reads the persisted states, so a state that did not change
 * raises no event twice.
 */
public final class SystemMonitor {

  static final String RAW = "raw";
  static final String MINUTE = "minute";
  static final String HOUR = "hour";
  static final String TYPES_SCOPE = "types";
  static final String SERVER_SCOPE = "server:";

  /** Samples kept per server and figure at most, whatever the heartbeat rate. */
  static final int MAX_SAMPLES = 4000;

  /** Points a history answer holds at most. */
  static final int MAX_POINTS = 5000;

  /** How long raw rows are kept before the rollup averages them into minutes. */
  static final Duration RAW_FOR = Duration.ofDays(1);

  /** How long minute rows are kept before the rollup averages them into hours. */
  static final Duration MINUTES_FOR = Duration.ofDays(7);

  /** How often the rollup runs at most; it runs after a calculation tick. */
  static final Duration ROLLUP_EVERY = Duration.ofMinutes(5);

  /** Rows one rollup transaction reads at most, and transactions per round at most. */
  static final int ROLLUP_BATCH = 5000;

  static final int ROLLUP_MAX_BATCHES = 20;

  private final Fence fence;
  private final SiteEvents events;
  private final Clock clock;
  private final int historyDays;
  private final Map<UUID, Window> windows = new ConcurrentHashMap<>();
  private volatile Instant lastRollup;

  /**
   * @param historyDays how long hourly history is kept; 0 keeps it for ever
   */
  public SystemMonitor(Fence fence, SiteEvents events, Clock clock, int historyDays) {
    if (historyDays < 0) {
      throw new IllegalArgumentException("history days " + historyDays);
    }
    this.fence = fence;
    this.events = events;
    this.clock = clock;
    this.historyDays = historyDays;
  }

  /** One server's recent samples per figure, and the sums since the last tick for the history. */
  private static final class Window {
    final Map<MonitorFigure, ArrayDeque<Sample>> samples = new EnumMap<>(MonitorFigure.class);
    final Map<MonitorFigure, double[]> sinceTick = new EnumMap<>(MonitorFigure.class);

    synchronized void add(Instant at, io.vigil.client.Load load) {
      for (MonitorFigure f : MonitorFigure.values()) {
        Double v = f.read(load);
        if (v == null) {
          continue;
        }
        ArrayDeque<Sample> q = samples.computeIfAbsent(f, k -> new ArrayDeque<>());
        q.addLast(new Sample(at, v));
        while (q.size() > MAX_SAMPLES) {
          q.removeFirst();
        }
        double[] sum = sinceTick.computeIfAbsent(f, k -> new double[2]);
        sum[0] += v;
        sum[1]++;
      }
    }

    /** The samples of {@code f} since {@code from}, dropping older ones. */
    synchronized List<Sample> since(MonitorFigure f, Instant from) {
      ArrayDeque<Sample> q = samples.get(f);
      if (q == null) {
        return List.of();
      }
      while (!q.isEmpty() && q.peekFirst().at().isBefore(from)) {
        q.removeFirst();
      }
      return List.copyOf(q);
    }

    /** The sums since the last tick, {sum, count} per figure, and starts new ones. */
    synchronized Map<MonitorFigure, double[]> drain() {
      Map<MonitorFigure, double[]> out = new EnumMap<>(sinceTick);
      sinceTick.clear();
      return out;
    }
  }

  /** Takes a heartbeat's figures as samples, on this node's clock (windows never leave it). */
  public void record(UUID server, io.vigil.client.Load load) {
    if (load == null) {
      return;
    }
    windows.computeIfAbsent(server, k -> new Window()).add(clock.instant(), load);
  }

  /** Forgets every sample: the role starts here (again), with windows that start empty. */
  public void reset() {
    windows.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Calculation

  private record Known(UUID id, String name, ServerType type) {}

  private record StateRow(MonitorLevel level, Double average) {}

  /**
   * Averages every server's windows and writes history, states and events in one fenced
   * transaction.
   *
   * @return how many figure states changed with an event (a first decision of normal raises none)
   * @throws io.vigil.server.cluster.FencedException when this node no longer owns the role
   */
  public int tick() {
    if (windows.isEmpty()) {
      return 0;
    }
    Instant now = clock.instant();
    return fence.write(
        h -> {
          Map<UUID, Known> servers = new HashMap<>();
          h.createQuery("SELECT id, name, type FROM servers")
              .map(
                  (rs, ctx) ->
                      new Known(
                          rs.getObject("id", UUID.class),
                          rs.getString("name"),
                          ServerType.fromId(rs.getString("type")).orElse(ServerType.OTHER)))
              .forEach(k -> servers.put(k.id(), k));
          windows.keySet().retainAll(servers.keySet());
          Map<String, Map<MonitorFigure, StateRow>> states = states(h);
          Overrides overrides = overrides(h);
          PreparedBatch history =
              h.prepareBatch(
                  "INSERT INTO monitor_history (server_id, figure, resolution, taken_at, average,"
                      + " samples) VALUES (:server, :figure, 'raw', CURRENT_TIMESTAMP, :average,"
                      + " :samples)");
          PreparedBatch updates =
              h.prepareBatch(
                  "UPDATE monitor_state SET average = :average, updated_at = CURRENT_TIMESTAMP"
                      + " WHERE server_id = :server AND figure = :figure");
          PreparedBatch changes =
              h.prepareBatch(
                  "UPDATE monitor_state SET state = :state, average = :average, changed_at ="
                      + " CURRENT_TIMESTAMP, updated_at = CURRENT_TIMESTAMP WHERE server_id ="
                      + " :server AND figure = :figure");
          PreparedBatch inserts =
              h.prepareBatch(
                  "INSERT INTO monitor_state (server_id, figure, state, average, changed_at,"
                      + " updated_at) VALUES (:server, :figure, :state, :average,"
                      + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
          List<Runnable> raise = new ArrayList<>();
          int changed = 0;
          for (Map.Entry<UUID, Window> e : windows.entrySet()) {
            Known server = servers.get(e.getKey());
            Map<MonitorFigure, MonitorThreshold> thresholds =
                overrides.effective(server.type(), server.id());
            Map<MonitorFigure, StateRow> current =
                states.getOrDefault(server.id().toString(), Map.of());
            for (Map.Entry<MonitorFigure, double[]> d : e.getValue().drain().entrySet()) {
              history
                  .bind("server", server.id())
                  .bind("figure", d.getKey().id())
                  .bind("average", d.getValue()[0] / d.getValue()[1])
                  .bind("samples", (int) d.getValue()[1])
                  .add();
            }
            for (MonitorFigure f : MonitorFigure.values()) {
              MonitorThreshold t = thresholds.get(f);
              List<Sample> samples =
                  e.getValue().since(f, now.minusSeconds(MonitorThreshold.MAX_INTERVAL_SECONDS));
              StateRow before = current.get(f);
              MonitorLevel from = before == null ? MonitorLevel.UNKNOWN : before.level();
              Result r = MonitorEvaluator.evaluate(f, t, samples, now, from);
              if (!r.decided()) {
                continue;
              }
              boolean same = before != null && r.level() == from;
              PreparedBatch target = before == null ? inserts : same ? updates : changes;
              target
                  .bind("server", server.id())
                  .bind("figure", f.id())
                  .bind("average", r.average());
              if (!same) {
                target.bind("state", r.level().id());
              }
              target.add();
              if (r.level() != from
                  && !(from == MonitorLevel.UNKNOWN && r.level() == MonitorLevel.NORMAL)) {
                changed++;
                raise.add(() -> raise(h, server, f, t, from, r));
              }
            }
          }
          for (PreparedBatch b : List.of(history, updates, changes, inserts)) {
            if (b.size() > 0) {
              b.execute();
            }
          }
          raise.forEach(Runnable::run);
          return changed;
        });
  }

  private void raise(
      Handle h, Known server, MonitorFigure f, MonitorThreshold t, MonitorLevel from, Result r) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("name", server.name());
    data.put("figure", f.id());
    data.put("from", from.id());
    data.put("to", r.level().id());
    data.put("value", Math.round(r.average() * 10) / 10.0);
    data.put("warning", t.warning());
    data.put("critical", t.critical());
    data.put("intervalSeconds", t.intervalSeconds());
    String what = f.higherIsWorse() ? "" : " (lower is worse)";
    events.raise(
        h,
        "monitor." + f.eventName() + "." + r.level().id(),
        server.id().toString(),
        r.level().severity(),
        "Server \""
            + server.name()
            + "\": "
            + f.id()
            + " averaged "
            + String.format(Locale.ROOT, "%.1f", r.average())
            + " % over "
            + t.intervalSeconds()
            + " s, now "
            + r.level().id()
            + " (was "
            + from.id()
            + "; warning at "
            + t.warning()
            + " %, critical at "
            + t.critical()
            + " %"
            + what
            + ").",
        data);
  }

  private record StoredState(String server, String figure, StateRow row) {}

  private static Map<String, Map<MonitorFigure, StateRow>> states(Handle h) {
    Map<String, Map<MonitorFigure, StateRow>> out = new HashMap<>();
    List<StoredState> rows =
        h.createQuery("SELECT server_id, figure, state, average FROM monitor_state")
            .map(
                (rs, ctx) ->
                    new StoredState(
                        rs.getString("server_id"),
                        rs.getString("figure"),
                        new StateRow(
                            MonitorLevel.fromId(rs.getString("state")).orElse(MonitorLevel.UNKNOWN),
                            average(rs))))
            .list();
    for (StoredState r : rows) {
      MonitorFigure.fromId(r.figure())
          .ifPresent(
              f ->
                  out.computeIfAbsent(r.server(), k -> new EnumMap<>(MonitorFigure.class))
                      .put(f, r.row()));
    }
    return out;
  }

  private static Double average(ResultSet rs) throws SQLException {
    double v = rs.getDouble("average");
    return rs.wasNull() ? null : v;
  }

  // ---------------------------------------------------------------------------------------------
  // History rollup

  /**
   * Downsamples the history, at most every {@link #ROLLUP_EVERY}: raw rows older than a day become
   * minute averages, minute rows older than a week hour averages, and hour rows older than the
   * history retention are deleted. Each step works in fenced transactions of at most {@link
   * #ROLLUP_BATCH} rows, {@link #ROLLUP_MAX_BATCHES} per round; the next round goes on where this
   * one stopped.
   *
   * @return how many rows were rolled up or deleted
   */
  public int rollup() {
    Instant now = clock.instant();
    if (lastRollup != null && Duration.between(lastRollup, now).compareTo(ROLLUP_EVERY) < 0) {
      return 0;
    }
    lastRollup = now;
    return rollupNow(ROLLUP_BATCH, ROLLUP_MAX_BATCHES);
  }

  /** One round of the rollup whatever the time since the last, with the given batch limits. */
  int rollupNow(int batch, int maxBatches) {
    int done = 0;
    done += steps(RAW, MINUTE, RAW_FOR, 60, batch, maxBatches);
    done += steps(MINUTE, HOUR, MINUTES_FOR, 3600, batch, maxBatches);
    if (historyDays > 0) {
      for (int i = 0; i < maxBatches; i++) {
        int deleted =
            fence.write(
                h ->
                    h.createUpdate(
                            "DELETE FROM monitor_history WHERE id IN (SELECT id FROM"
                                + " monitor_history WHERE resolution = 'hour' AND taken_at <"
                                + " :cutoff ORDER BY id LIMIT :batch)")
                        .bind(
                            "cutoff", Timestamp.from(dbNow(h).minus(Duration.ofDays(historyDays))))
                        .bind("batch", batch)
                        .execute());
        done += deleted;
        if (deleted < batch) {
          break;
        }
      }
    }
    return done;
  }

  private int steps(
      String from, String to, Duration keep, long bucketSeconds, int batch, int maxBatches) {
    int done = 0;
    for (int i = 0; i < maxBatches; i++) {
      int[] step = fence.write(h -> rollupBatch(h, from, to, keep, bucketSeconds, batch));
      done += step[0];
      if (step[1] < batch) {
        break;
      }
    }
    return done;
  }

  private record HistoryRow(long id, UUID server, String figure, Instant at, double avg, int n) {}

  /**
   * Averages up to {@code batch} of the oldest {@code from} rows whose {@code bucketSeconds} bucket
   * ended more than {@code keep} ago into {@code to} rows, and deletes them.
   *
   * @return {rows rolled up, rows read}
   */
  static int[] rollupBatch(
      Handle h, String from, String to, Duration keep, long bucketSeconds, int batch) {
    Instant cutoff = dbNow(h).minus(keep);
    // Only whole buckets: the cutoff moves back to the start of its bucket.
    Instant boundary =
        Instant.ofEpochSecond(
            Math.floorDiv(cutoff.getEpochSecond(), bucketSeconds) * bucketSeconds);
    List<HistoryRow> rows =
        h.createQuery(
                "SELECT id, server_id, figure, taken_at, average, samples FROM monitor_history"
                    + " WHERE resolution = :from AND taken_at < :boundary ORDER BY taken_at, id"
                    + " LIMIT :batch")
            .bind("from", from)
            .bind("boundary", Timestamp.from(boundary))
            .bind("batch", batch)
            .map(SystemMonitor::historyRow)
            .list();
    if (rows.isEmpty()) {
      return new int[] {0, 0};
    }
    record Key(UUID server, String figure, long bucket) {}
    Map<Key, double[]> sums = new LinkedHashMap<>();
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (HistoryRow r : rows) {
      long b = bucket(r.at(), bucketSeconds);
      first = Math.min(first, b);
      last = Math.max(last, b);
      double[] s = sums.computeIfAbsent(new Key(r.server(), r.figure(), b), k -> new double[2]);
      int n = Math.max(1, r.n());
      s[0] += r.avg() * n;
      s[1] += n;
    }
    // A bucket may have been begun by an earlier batch (a batch can end inside one): merge into its
    // row rather than write a second.
    Map<Key, HistoryRow> existing = new HashMap<>();
    h.createQuery(
            "SELECT id, server_id, figure, taken_at, average, samples FROM monitor_history WHERE"
                + " resolution = :to AND taken_at >= :first AND taken_at <= :last")
        .bind("to", to)
        .bind("first", Timestamp.from(Instant.ofEpochSecond(first)))
        .bind("last", Timestamp.from(Instant.ofEpochSecond(last)))
        .map(SystemMonitor::historyRow)
        .forEach(
            r -> existing.put(new Key(r.server(), r.figure(), bucket(r.at(), bucketSeconds)), r));
    PreparedBatch insert =
        h.prepareBatch(
            "INSERT INTO monitor_history (server_id, figure, resolution, taken_at, average,"
                + " samples) VALUES (:server, :figure, :resolution, :at, :average, :samples)");
    PreparedBatch merge =
        h.prepareBatch(
            "UPDATE monitor_history SET average = :average, samples = :samples WHERE id = :id");
    for (Map.Entry<Key, double[]> e : sums.entrySet()) {
      Key k = e.getKey();
      double[] s = e.getValue();
      HistoryRow before = existing.get(k);
      if (before != null) {
        int n = Math.max(1, before.n());
        merge
            .bind("id", before.id())
            .bind("average", (s[0] + before.avg() * n) / (s[1] + n))
            .bind("samples", (int) s[1] + n)
            .add();
      } else {
        insert
            .bind("server", k.server())
            .bind("figure", k.figure())
            .bind("resolution", to)
            .bind("at", Timestamp.from(Instant.ofEpochSecond(k.bucket())))
            .bind("average", s[0] / s[1])
            .bind("samples", (int) s[1])
            .add();
      }
    }
    if (insert.size() > 0) {
      insert.execute();
    }
    if (merge.size() > 0) {
      merge.execute();
    }
    PreparedBatch delete = h.prepareBatch("DELETE FROM monitor_history WHERE id = :id");
    rows.forEach(r -> delete.bind("id", r.id()).add());
    delete.execute();
    return new int[] {rows.size(), rows.size()};
  }

  private static HistoryRow historyRow(ResultSet rs, StatementContext ctx) throws SQLException {
    return new HistoryRow(
        rs.getLong("id"),
        rs.getObject("server_id", UUID.class),
        rs.getString("figure"),
        Sql.instant(rs.getTimestamp("taken_at")),
        rs.getDouble("average"),
        rs.getInt("samples"));
  }

  private static long bucket(Instant at, long seconds) {
    return Math.floorDiv(at.getEpochSecond(), seconds) * seconds;
  }

  private static Instant dbNow(Handle h) {
    return Sql.instant(h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one());
  }

  // ---------------------------------------------------------------------------------------------
  // Thresholds

  /** A threshold as the API takes it; a field left out keeps the value from the level below. */
  public record ThresholdInput(Double warning, Double critical, Integer intervalSeconds) {}

  /** The body of {@code PUT /api/v1/monitor/thresholds}: per server type, per figure. */
  public record TypeThresholdsInput(Map<String, Map<String, ThresholdInput>> types) {}

  /** The body of {@code PUT /api/v1/monitor/thresholds/servers/{id}}: per figure. */
  public record ServerThresholdsInput(Map<String, ThresholdInput> thresholds) {}

  /** The thresholds of every server type, in effect (built-in, or as the site replaced them). */
  public record TypeThresholds(long revision, Map<String, Map<String, MonitorThreshold>> types) {}

  /**
   * One server's thresholds.
   *
   * @param overrides what the server replaces; empty when it has no override
   * @param effective what applies to it
   * @param revision 0 when it has no override
   */
  public record ServerThresholds(
      UUID serverId,
      long revision,
      Map<String, ThresholdInput> overrides,
      Map<String, MonitorThreshold> effective) {}

  private record Stored(String json, long revision) {}

  private static final TypeReference<Map<String, Map<String, ThresholdInput>>> TYPES_JSON =
      new TypeReference<>() {};
  private static final TypeReference<Map<String, ThresholdInput>> FIGURES_JSON =
      new TypeReference<>() {};

  /** Every override, read once per tick or request. */
  private static final class Overrides {
    final Map<String, Map<String, ThresholdInput>> types;
    final Map<String, Map<String, ThresholdInput>> servers;
    final long typesRevision;

    Overrides(
        Map<String, Map<String, ThresholdInput>> types,
        Map<String, Map<String, ThresholdInput>> servers,
        long typesRevision) {
      this.types = types;
      this.servers = servers;
      this.typesRevision = typesRevision;
    }

    Map<MonitorFigure, MonitorThreshold> forType(ServerType type) {
      return apply(MonitorThresholds.builtIn(type), types.get(type.id()));
    }

    Map<MonitorFigure, MonitorThreshold> effective(ServerType type, UUID server) {
      return apply(forType(type), servers.get(server.toString()));
    }

    static Map<MonitorFigure, MonitorThreshold> apply(
        Map<MonitorFigure, MonitorThreshold> base, Map<String, ThresholdInput> over) {
      if (over == null) {
        return base;
      }
      Map<MonitorFigure, MonitorThreshold> out = new EnumMap<>(base);
      over.forEach(
          (id, in) -> MonitorFigure.fromId(id).ifPresent(f -> out.put(f, merge(base.get(f), in))));
      return out;
    }
  }

  static MonitorThreshold merge(MonitorThreshold base, ThresholdInput in) {
    return new MonitorThreshold(
        in.warning() == null ? base.warning() : in.warning(),
        in.critical() == null ? base.critical() : in.critical(),
        in.intervalSeconds() == null ? base.intervalSeconds() : in.intervalSeconds());
  }

  private static Overrides overrides(Handle h) {
    Map<String, Map<String, ThresholdInput>> types = Map.of();
    Map<String, Map<String, ThresholdInput>> servers = new HashMap<>();
    long typesRevision = 0;
    for (Map.Entry<String, Stored> e : storedAll(h).entrySet()) {
      if (e.getKey().equals(TYPES_SCOPE)) {
        types = readJson(e.getValue().json(), TYPES_JSON);
        typesRevision = e.getValue().revision();
      } else if (e.getKey().startsWith(SERVER_SCOPE)) {
        servers.put(
            e.getKey().substring(SERVER_SCOPE.length()),
            readJson(e.getValue().json(), FIGURES_JSON));
      }
    }
    return new Overrides(types, servers, typesRevision);
  }

  private static Map<String, Stored> storedAll(Handle h) {
    Map<String, Stored> out = new HashMap<>();
    h.createQuery("SELECT scope, thresholds_json, revision FROM monitor_thresholds")
        .map(
            (rs, ctx) ->
                out.put(
                    rs.getString("scope"),
                    new Stored(rs.getString("thresholds_json"), rs.getLong("revision"))))
        .list();
    return out;
  }

  private static <T> T readJson(String json, TypeReference<T> type) {
    try {
      return Json.MAPPER.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored monitor thresholds are not valid JSON", e);
    }
  }

  private static String writeJson(Object value) {
    try {
      return Json.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("monitor thresholds cannot be written as JSON", e);
    }
  }

  /** The thresholds in effect for every server type. */
  public TypeThresholds typeThresholds() {
    return fence.read(SystemMonitor::typeThresholds);
  }

  private static TypeThresholds typeThresholds(Handle h) {
    Overrides o = overrides(h);
    Map<String, Map<String, MonitorThreshold>> types = new TreeMap<>();
    for (ServerType t : ServerType.values()) {
      types.put(t.id(), wire(o.forType(t)));
    }
    return new TypeThresholds(o.typesRevision, types);
  }

  private static Map<String, MonitorThreshold> wire(Map<MonitorFigure, MonitorThreshold> in) {
    Map<String, MonitorThreshold> out = new LinkedHashMap<>();
    in.forEach((f, t) -> out.put(f.id(), t));
    return out;
  }

  /**
   * Replaces the site's thresholds per server type: what {@code in} names replaces the built-in
   * value, what it leaves out is built-in again.
   *
   * @param expectedRevision the revision the caller read; 0 (no If-Match) only while the site has
   *     never replaced them
   */
  public TypeThresholds putTypeThresholds(
      Principal actor, long expectedRevision, TypeThresholdsInput in) {
    if (in == null || in.types() == null) {
      throw ApiException.badRequest("missing_field", "Field \"types\" is required.");
    }
    Map<String, Map<String, ThresholdInput>> clean = new TreeMap<>();
    in.types()
        .forEach(
            (type, figures) -> {
              ServerType t =
                  ServerType.fromId(type)
                      .orElseThrow(
                          () ->
                              ApiException.badRequest(
                                  "invalid_type",
                                  "Server type \""
                                      + Text.excerpt(type)
                                      + "\" is unknown. Use one of: "
                                      + ServerType.allIds()
                                      + "."));
              clean.put(
                  t.id(), validated("types." + t.id(), MonitorThresholds.builtIn(t), figures));
            });
    return fence.write(
        h -> {
          TypeThresholds before = typeThresholds(h);
          store(h, TYPES_SCOPE, "Monitor thresholds", expectedRevision, clean);
          TypeThresholds after = typeThresholds(h);
          AuditLog.record(
              h,
              actor,
              "monitor.thresholds.updated",
              "monitor-thresholds",
              TYPES_SCOPE,
              before,
              after);
          return after;
        });
  }

  /** One server's thresholds: its override and what is in effect. */
  public ServerThresholds serverThresholds(UUID server) {
    return fence.read(h -> serverThresholds(h, server));
  }

  private static ServerThresholds serverThresholds(Handle h, UUID server) {
    Known k = known(h, server);
    Overrides o = overrides(h);
    Stored s = storedAll(h).get(SERVER_SCOPE + server);
    Map<String, ThresholdInput> over = o.servers.getOrDefault(server.toString(), Map.of());
    return new ServerThresholds(
        server, s == null ? 0 : s.revision(), over, wire(o.effective(k.type(), server)));
  }

  /**
   * Replaces one server's override.
   *
   * @param expectedRevision the revision the caller read; 0 (no If-Match) only when the server has
   *     no override yet
   */
  public ServerThresholds putServerThresholds(
      Principal actor, UUID server, long expectedRevision, ServerThresholdsInput in) {
    if (in == null || in.thresholds() == null) {
      throw ApiException.badRequest("missing_field", "Field \"thresholds\" is required.");
    }
    return fence.write(
        h -> {
          Known k = known(h, server);
          Map<String, ThresholdInput> clean =
              validated("thresholds", overrides(h).forType(k.type()), in.thresholds());
          ServerThresholds before = serverThresholds(h, server);
          store(
              h,
              SERVER_SCOPE + server,
              "The thresholds of server \"" + k.name() + "\"",
              expectedRevision,
              clean);
          ServerThresholds after = serverThresholds(h, server);
          AuditLog.record(
              h,
              actor,
              "monitor.thresholds.updated",
              "monitor-thresholds",
              SERVER_SCOPE + server,
              before,
              after);
          return after;
        });
  }

  /** Removes one server's override, so that its type's thresholds apply again. */
  public void removeServerThresholds(Principal actor, UUID server, long expectedRevision) {
    fence.write(
        h -> {
          Known k = known(h, server);
          ServerThresholds before = serverThresholds(h, server);
          if (before.revision() == 0) {
            throw ApiException.notFound("Threshold override of server", server.toString());
          }
          checkRevision(
              "The thresholds of server \"" + k.name() + "\"", expectedRevision, before.revision());
          h.createUpdate("DELETE FROM monitor_thresholds WHERE scope = :scope")
              .bind("scope", SERVER_SCOPE + server)
              .execute();
          AuditLog.record(
              h,
              actor,
              "monitor.thresholds.removed",
              "monitor-thresholds",
              SERVER_SCOPE + server,
              before,
              null);
          return null;
        });
  }

  private static void store(
      Handle h, String scope, String what, long expectedRevision, Object thresholds) {
    Long current =
        h.createQuery("SELECT revision FROM monitor_thresholds WHERE scope = :scope FOR UPDATE")
            .bind("scope", scope)
            .mapTo(Long.class)
            .findOne()
            .orElse(null);
    String json = writeJson(thresholds);
    if (current == null) {
      checkRevision(what, expectedRevision, 0);
      h.createUpdate(
              "INSERT INTO monitor_thresholds (scope, thresholds_json, revision, updated_at)"
                  + " VALUES (:scope, :json, 1, CURRENT_TIMESTAMP)")
          .bind("scope", scope)
          .bind("json", json)
          .execute();
    } else {
      checkRevision(what, expectedRevision, current);
      h.createUpdate(
              "UPDATE monitor_thresholds SET thresholds_json = :json, revision = revision + 1,"
                  + " updated_at = CURRENT_TIMESTAMP WHERE scope = :scope")
          .bind("scope", scope)
          .bind("json", json)
          .execute();
    }
  }

  private static void checkRevision(String what, long expected, long current) {
    if (expected == current) {
      return;
    }
    if (expected == 0) {
      throw new ApiException(
          428,
          "precondition_required",
          what
              + " were changed before; this update needs an If-Match header with the ETag from"
              + " your last read, e.g. If-Match: \""
              + current
              + "\".");
    }
    throw ApiException.conflict(
        "version_conflict",
        what
            + " were changed by someone else (your revision "
            + expected
            + ", current "
            + current
            + "). Read them again, reapply your change and send the new ETag in If-Match.");
  }

  /** Checks figures and levels and fills each threshold in from {@code base}. */
  private static Map<String, ThresholdInput> validated(
      String field, Map<MonitorFigure, MonitorThreshold> base, Map<String, ThresholdInput> in) {
    Map<String, ThresholdInput> out = new TreeMap<>();
    for (Map.Entry<String, ThresholdInput> e : in.entrySet()) {
      MonitorFigure f =
          MonitorFigure.fromId(e.getKey())
              .orElseThrow(
                  () ->
                      ApiException.badRequest(
                          "invalid_figure",
                          "Figure \""
                              + Text.excerpt(e.getKey())
                              + "\" in \""
                              + field
                              + "\" is unknown. Use one of: "
                              + MonitorFigure.allIds()
                              + "."));
      if (e.getValue() == null) {
        throw ApiException.badRequest(
            "invalid_value", "Field \"" + field + "." + f.id() + "\" must be an object, not null.");
      }
      MonitorThreshold t = merge(base.get(f), e.getValue());
      String problem = t.problem(f);
      if (problem != null) {
        throw ApiException.badRequest(
            "invalid_threshold", "In \"" + field + "\": " + problem + ".");
      }
      out.put(f.id(), new ThresholdInput(t.warning(), t.critical(), t.intervalSeconds()));
    }
    return out;
  }

  private static Known known(Handle h, UUID id) {
    return h.createQuery("SELECT id, name, type FROM servers WHERE id = :id")
        .bind("id", id)
        .map(
            (rs, ctx) ->
                new Known(
                    id,
                    rs.getString("name"),
                    ServerType.fromId(rs.getString("type")).orElse(ServerType.OTHER)))
        .findOne()
        .orElseThrow(() -> ApiException.notFound("Server", id.toString()));
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /**
   * A figure's state.
   *
   * @param value the last calculated average; null before the first
   * @param changedAt when the state last changed (the database's clock)
   */
  public record FigureState(
      String figure,
      String state,
      Double value,
      double warning,
      double critical,
      Instant changedAt) {}

  /**
   * A server in the monitor.
   *
   * @param state the worst of its figures' states, or {@code offline} while it sends no heartbeats
   * @param connection {@code online}, {@code offline} or {@code unknown}
   */
  public record ServerMonitor(
      UUID serverId,
      String name,
      String type,
      String connection,
      String state,
      List<FigureState> figures) {}

  private record Row(UUID id, String name, String nameKey, String type, String status) {}

  /**
   * Every server with its figures' states, worst first (critical, warning, unknown or offline,
   * normal), then by name.
   */
  public Page<ServerMonitor> overview(String cursor, int limit) {
    String after = Page.decodeCursor(cursor);
    return fence.read(
        h -> {
          List<Row> rows =
              h.createQuery("SELECT id, name, name_key, type, status FROM servers")
                  .map(
                      (rs, ctx) ->
                          new Row(
                              rs.getObject("id", UUID.class),
                              rs.getString("name"),
                              rs.getString("name_key"),
                              rs.getString("type"),
                              rs.getString("status")))
                  .list();
          Map<String, Map<String, FigureState>> figures = new HashMap<>();
          h.createQuery("SELECT server_id, figure, state, average, changed_at FROM monitor_state")
              .map(
                  (rs, ctx) ->
                      figures
                          .computeIfAbsent(rs.getString("server_id"), k -> new HashMap<>())
                          .put(
                              rs.getString("figure"),
                              new FigureState(
                                  rs.getString("figure"),
                                  rs.getString("state"),
                                  average(rs),
                                  0,
                                  0,
                                  Sql.instant(rs.getTimestamp("changed_at")))))
              .list();
          Overrides o = overrides(h);
          List<Map.Entry<String, ServerMonitor>> all = new ArrayList<>();
          for (Row r : rows) {
            ServerType type = ServerType.fromId(r.type()).orElse(ServerType.OTHER);
            Map<MonitorFigure, MonitorThreshold> t = o.effective(type, r.id());
            Map<String, FigureState> stored = figures.getOrDefault(r.id().toString(), Map.of());
            List<FigureState> list = new ArrayList<>();
            MonitorLevel worst = MonitorLevel.NORMAL;
            boolean any = false;
            for (MonitorFigure f : MonitorFigure.values()) {
              FigureState s = stored.get(f.id());
              MonitorThreshold th = t.get(f);
              if (s == null) {
                list.add(
                    new FigureState(
                        f.id(),
                        MonitorLevel.UNKNOWN.id(),
                        null,
                        th.warning(),
                        th.critical(),
                        null));
                continue;
              }
              any = true;
              worst =
                  MonitorLevel.worse(
                      worst, MonitorLevel.fromId(s.state()).orElse(MonitorLevel.UNKNOWN));
              list.add(
                  new FigureState(
                      f.id(), s.state(), s.value(), th.warning(), th.critical(), s.changedAt()));
            }
            ServerStatus status = ServerStatus.fromId(r.status()).orElse(ServerStatus.UNKNOWN);
            String connection = ServerLiveness.connection(status);
            String state;
            int rank;
            if (!"online".equals(connection)) {
              state = "offline".equals(connection) ? "offline" : MonitorLevel.UNKNOWN.id();
              rank = MonitorLevel.UNKNOWN.rank();
            } else if (!any) {
              state = MonitorLevel.UNKNOWN.id();
              rank = MonitorLevel.UNKNOWN.rank();
            } else {
              state = worst.id();
              rank = worst.rank();
            }
            all.add(
                Map.entry(
                    rank + ":" + r.nameKey(),
                    new ServerMonitor(r.id(), r.name(), r.type(), connection, state, list)));
          }
          all.sort(Map.Entry.comparingByKey(Comparator.naturalOrder()));
          List<ServerMonitor> page = new ArrayList<>();
          String last = null;
          boolean more = false;
          for (Map.Entry<String, ServerMonitor> e : all) {
            if (after != null && e.getKey().compareTo(after) <= 0) {
              continue;
            }
            if (page.size() == limit) {
              more = true;
              break;
            }
            page.add(e.getValue());
            last = e.getKey();
          }
          return new Page<>(page, more ? Page.cursorAfter(last) : null);
        });
  }

  /** A point of a figure's history: the average of {@code samples} heartbeats around {@code at}. */
  public record Point(Instant at, double value, int samples) {}

  /**
   * @param resolution {@code raw}, {@code minute} or {@code hour}
   */
  public record History(
      UUID serverId,
      String figure,
      String resolution,
      Instant since,
      Instant until,
      List<Point> points) {}

  /**
   * A figure's history between {@code since} and {@code until} (null: a day ago and now, by the
   * database's clock). The resolution follows the age of {@code since}: raw points for the last
   * day, minutely averages up to a week back, hourly ones beyond. Rows of a finer resolution in the
   * range are averaged into the chosen one, so the answer has no gap while the rollup catches up.
   */
  public History history(UUID server, String figureId, Instant since, Instant until) {
    MonitorFigure figure =
        figureId == null
            ? null
            : MonitorFigure.fromId(figureId)
                .orElseThrow(
                    () ->
                        ApiException.badRequest(
                            "invalid_figure",
                            "Figure \""
                                + Text.excerpt(figureId)
                                + "\" is unknown. Use one of: "
                                + MonitorFigure.allIds()
                                + "."));
    if (figure == null) {
      throw ApiException.badRequest(
          "missing_parameter",
          "Query parameter \"figure\" is required: one of " + MonitorFigure.allIds() + ".");
    }
    if (since != null && until != null && since.isAfter(until)) {
      throw ApiException.badRequest(
          "invalid_range", "\"since\" (" + since + ") is after \"until\" (" + until + ").");
    }
    return fence.read(
        h -> {
          known(h, server);
          Instant now = dbNow(h);
          Instant to = until == null ? now : until;
          Instant from = since == null ? to.minus(Duration.ofDays(1)) : since;
          Duration age = Duration.between(from, now);
          String resolution =
              age.compareTo(Duration.ofDays(1).plusMinutes(1)) <= 0
                  ? RAW
                  : age.compareTo(Duration.ofDays(7).plusHours(1)) <= 0 ? MINUTE : HOUR;
          long bucket = RAW.equals(resolution) ? 0 : MINUTE.equals(resolution) ? 60 : 3600;
          List<Point> rows =
              h.createQuery(
                      "SELECT taken_at, average, samples FROM monitor_history WHERE server_id ="
                          + " :server AND figure = :figure AND taken_at >= :from AND taken_at <="
                          + " :to ORDER BY taken_at, id")
                  .bind("server", server)
                  .bind("figure", figure.id())
                  .bind("from", Timestamp.from(from))
                  .bind("to", Timestamp.from(to))
                  .setMaxRows(RAW.equals(resolution) ? MAX_POINTS : 0)
                  .map(
                      (rs, ctx) ->
                          new Point(
                              Sql.instant(rs.getTimestamp("taken_at")),
                              rs.getDouble("average"),
                              rs.getInt("samples")))
                  .list();
          return new History(
              server,
              figure.id(),
              resolution,
              from,
              to,
              bucket == 0 ? rows : bucketed(rows, bucket));
        });
  }

  /** Averages points into buckets of {@code seconds}, weighted by their samples. */
  static List<Point> bucketed(List<Point> rows, long seconds) {
    Map<Long, double[]> buckets = new TreeMap<>();
    for (Point p : rows) {
      long key = Math.floorDiv(p.at().getEpochSecond(), seconds) * seconds;
      double[] b = buckets.computeIfAbsent(key, k -> new double[2]);
      int weight = Math.max(1, p.samples());
      b[0] += p.value() * weight;
      b[1] += weight;
    }
    List<Point> out = new ArrayList<>();
    buckets.forEach(
        (k, b) -> out.add(new Point(Instant.ofEpochSecond(k), b[0] / b[1], (int) b[1])));
    return out;
  }
}
