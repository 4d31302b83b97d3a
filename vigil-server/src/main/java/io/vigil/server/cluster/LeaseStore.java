package io.vigil.server.cluster;

import io.vigil.server.cluster.ControllerAction.AcquireMode;
import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lease, the fencing epoch and the advisory lock in the shared database: the SQL behind the
 * controller's database actions. Used by one thread only (the controller's database worker).
 *
 * <p>The advisory lock is a PostgreSQL session lock held on a dedicated connection that does
 * nothing else, so that it stays idle: PostgreSQL frees an idle session's locks as soon as the
 * process behind it dies (its socket closes), but not while the process is merely stopped or cut
 * off, nor while the connection is busy. That makes "the lock is free" proof that the owner's
 * process ended. A hung or cut-off owner still holds it, and is handled by the lease. The lease row
 * records whether its owner holds the lock, so that a standby never mistakes an owner that has not
 * taken the lock yet for a dead one.
 */
class LeaseStore implements Leases, AutoCloseable {

  static final String ROLE = "management";

  /** The advisory lock's key: "VIGIL" and the role number. */
  static final long LOCK_KEY = 0x564947494CL << 8 | 1;

  private static final Logger log = LoggerFactory.getLogger(LeaseStore.class);

  private final DataSource dataSource;
  private final Dialect dialect;
  private final String me;
  private final String instanceId;
  private final ClusterTiming timing;
  private final String lockUrl;
  private final Properties lockProps;
  private Connection lockConnection;
  private java.sql.Timestamp lockSessionSince;
  private int lockPid;
  private java.sql.Timestamp lockBackendStart;
  private boolean proxyLogged;
  private boolean holdsLock;
  private volatile Map<String, String> urls = Map.of();
  private final BooleanSupplier eligible;

  LeaseStore(
      DataSource dataSource,
      Dialect dialect,
      String me,
      String instanceId,
      ClusterTiming timing,
      String jdbcUrl,
      String user,
      String password,
      BooleanSupplier eligible) {
    this.dataSource = dataSource;
    this.eligible = eligible;
    this.dialect = dialect;
    this.me = me;
    this.instanceId = instanceId;
    this.timing = timing;
    this.lockUrl = jdbcUrl;
    this.lockProps = new Properties();
    if (user != null) {
      lockProps.setProperty("user", user);
    }
    if (password != null) {
      lockProps.setProperty("password", password);
    }
    lockProps.setProperty("ApplicationName", Clusters.applicationName(instanceId, "lock", me));
    lockProps.setProperty("connectTimeout", "2");
    lockProps.setProperty("socketTimeout", "3");
  }

  /** Every node's advertised URL as of the last observation. */
  Map<String, String> nodeUrls() {
    return urls;
  }

  boolean locksSupported() {
    return dialect == Dialect.POSTGRESQL;
  }

  @Override
  public boolean holdsLock() {
    return holdsLock;
  }

  // ---- the advisory lock

  /** Takes the lock if it is free. Never blocks on the lock itself. */
  boolean tryLock() {
    if (!locksSupported()) {
      return false;
    }
    if (holdsLock) {
      return true;
    }
    try {
      if (lockConnection == null || lockConnection.isClosed()) {
        lockConnection = DriverManager.getConnection(lockUrl, lockProps);
        lockConnection.setAutoCommit(true);
        String proxy = Database.proxyProblem(lockConnection);
        if (proxy != null) {
          if (!proxyLogged) {
            log.error(
                "The lock connection {}; this node takes no lock and never takes over", proxy);
            proxyLogged = true;
          }
          dropLockConnection();
          return false;
        }
        try (Statement s = lockConnection.createStatement();
            ResultSet rs =
                s.executeQuery(
                    "SELECT CURRENT_TIMESTAMP, pid, backend_start FROM pg_stat_activity"
                        + " WHERE pid = pg_backend_pid()")) {
          rs.next();
          lockSessionSince = rs.getTimestamp(1);
          lockPid = rs.getInt(2);
          lockBackendStart = rs.getTimestamp(3);
        }
      }
      try (Statement s = lockConnection.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_try_advisory_lock(" + LOCK_KEY + ")")) {
        rs.next();
        holdsLock = rs.getBoolean(1);
      }
    } catch (SQLException e) {
      dropLockConnection();
    }
    return holdsLock;
  }

  @Override
  public void releaseLock() {
    if (!holdsLock) {
      return;
    }
    try (Statement s = lockConnection.createStatement()) {
      s.execute("SELECT pg_advisory_unlock(" + LOCK_KEY + ")");
      holdsLock = false;
    } catch (SQLException e) {
      // Closing the session frees the lock too.
      dropLockConnection();
    }
  }

  /** Whether the lock connection still holds the lock (false after the connection broke). */
  boolean verifyLock() {
    if (!holdsLock) {
      return false;
    }
    try (Statement s = lockConnection.createStatement()) {
      s.execute("SELECT 1");
      return true;
    } catch (SQLException e) {
      dropLockConnection();
      return false;
    }
  }

  /**
   * Whether the lock this node holds is on the server that {@code c} (a connection of the request
   * pool, which the lease is read and written through) reaches: its session shows there as holding
   * the lock. With a URL listing several servers the lock connection and the pool can land on
   * different ones, around a database failover for instance; a lock on another server proves
   * nothing about this one's lease, so it is let go. The session is matched by its process id and
   * start time, which no session on another server shares.
   */
  private boolean lockOnServerOf(Connection c) throws SQLException {
    try (PreparedStatement q =
        c.prepareStatement(
            "SELECT COUNT(*) FROM pg_locks k JOIN pg_stat_activity a ON a.pid = k.pid"
                + " WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1"
                + " AND k.classid::bigint = ? AND k.objid::bigint = ? AND k.pid = ?"
                + " AND a.backend_start = ?")) {
      q.setLong(1, LOCK_KEY >>> 32);
      q.setLong(2, LOCK_KEY & 0xffffffffL);
      q.setInt(3, lockPid);
      q.setTimestamp(4, lockBackendStart);
      try (ResultSet rs = q.executeQuery()) {
        rs.next();
        if (rs.getLong(1) == 1) {
          return true;
        }
      }
    }
    log.warn(
        "This node's lock is on another database server than its lease (the database URL lists"
            + " several servers); it lets the lock go");
    dropLockConnection();
    return false;
  }

  /** {@link #tryLock()} if locks are supported, kept only if the lock is on {@code c}'s server. */
  private boolean lockOn(Connection c) throws SQLException {
    return locksSupported() && tryLock() && lockOnServerOf(c);
  }

  private void dropLockConnection() {
    holdsLock = false;
    lockSessionSince = null;
    lockBackendStart = null;
    if (lockConnection != null) {
      try {
        lockConnection.close();
      } catch (SQLException ignored) {
        // already broken
      }
      lockConnection = null;
    }
  }

  // ---- node registry

  /**
   * Registers this node, refusing to run beside a live node of the same name.
   *
   * @return null when registered, otherwise why not
   */
  String register(String advertisedUrl, String version) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      String problem = null;
      try (PreparedStatement q =
          c.prepareStatement(
              "SELECT instance_id, CURRENT_TIMESTAMP - heartbeat_at < "
                  + liveWindowSql()
                  + " AS live FROM cluster_nodes WHERE name = ? FOR UPDATE")) {
        q.setString(1, me);
        try (ResultSet rs = q.executeQuery()) {
          if (rs.next()) {
            if (rs.getBoolean("live") && dialect == Dialect.POSTGRESQL) {
              problem =
                  "another node named "
                      + me
                      + " sent a heartbeat less than "
                      + liveWindow().toMillis()
                      + " ms ago";
            }
            if (problem == null) {
              try (PreparedStatement u =
                  c.prepareStatement(
                      "UPDATE cluster_nodes SET instance_id = ?, advertised_url = ?, started_at ="
                          + " CURRENT_TIMESTAMP, heartbeat_at = CURRENT_TIMESTAMP, version = ? WHERE name = ?")) {
                u.setString(1, instanceId);
                u.setString(2, advertisedUrl);
                u.setString(3, version);
                u.setString(4, me);
                u.executeUpdate();
              }
            }
          } else {
            try (PreparedStatement i =
                c.prepareStatement(
                    "INSERT INTO cluster_nodes (name, instance_id, advertised_url, started_at,"
                        + " heartbeat_at, paused, draining, version) VALUES (?, ?, ?, CURRENT_TIMESTAMP,"
                        + " CURRENT_TIMESTAMP, FALSE, FALSE, ?)")) {
              i.setString(1, me);
              i.setString(2, instanceId);
              i.setString(3, advertisedUrl);
              i.setString(4, version);
              i.executeUpdate();
            }
          }
        }
      }
      c.commit();
      return problem;
    }
  }

  Duration liveWindow() {
    return timing.liveWindow();
  }

  private String liveWindowSql() {
    long ms = liveWindow().toMillis();
    return dialect == Dialect.POSTGRESQL
        ? "(" + ms + " * INTERVAL '1 millisecond')"
        : "INTERVAL '" + ms / 1000.0 + "' SECOND";
  }

  // ---- observe

  /** Reads the shared state; on a standby, probes the owner's lock; sends the heartbeat. */
  @Override
  public ClusterView observe(boolean owner, boolean heartbeat, RolePolicy policy)
      throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      if (heartbeat) {
        try (PreparedStatement u =
            c.prepareStatement(
                "UPDATE cluster_nodes SET heartbeat_at = CURRENT_TIMESTAMP WHERE name = ? AND instance_id = ?")) {
          u.setString(1, me);
          u.setString(2, instanceId);
          if (u.executeUpdate() == 0) {
            log.warn(
                "Node {} was registered again by another process; this one keeps running but should be stopped",
                me);
          }
        }
      }
      LeaseView lease;
      boolean maintenance;
      boolean failed;
      String moveTo;
      String moveBy;
      int recent;
      try (PreparedStatement q =
          c.prepareStatement(
              "SELECT l.owner, l.epoch, l.expires_at < CURRENT_TIMESTAMP AS expired, l.handover_to,"
                  + " l.owner_has_lock, r.maintenance, r.failed, r.move_to, r.move_requested_by,"
                  + " (SELECT COUNT(*) FROM cluster_history h WHERE h.event = 'failover' AND h.at >"
                  + " r.failovers_since AND h.at > "
                  + dialect.nowPlusMillis(-policy.failoverPeriod().toMillis())
                  + ") AS recent FROM cluster_lease l JOIN cluster_role r ON r.role = l.role WHERE l.role = ?")) {
        q.setString(1, ROLE);
        try (ResultSet rs = q.executeQuery()) {
          rs.next();
          lease =
              new LeaseView(
                  NodeId.of(rs.getString("owner")),
                  new Epoch(rs.getLong("epoch")),
                  rs.getBoolean("expired"),
                  NodeId.of(rs.getString("handover_to")),
                  rs.getBoolean("owner_has_lock"),
                  false);
          maintenance = rs.getBoolean("maintenance");
          failed = rs.getBoolean("failed");
          moveTo = rs.getString("move_to");
          moveBy = rs.getString("move_requested_by");
          recent = rs.getInt("recent");
        }
      }
      Map<NodeId, Duration> live = new LinkedHashMap<>();
      boolean selfPaused = false;
      boolean selfDraining = false;
      Map<String, String> seenUrls = new LinkedHashMap<>();
      try (PreparedStatement q =
          c.prepareStatement(
              "SELECT n.name, n.advertised_url, n.paused, n.draining, n.started_at,"
                  + " n.heartbeat_at, c.eligible, CURRENT_TIMESTAMP AS db_now FROM cluster_nodes n"
                  + " LEFT JOIN cluster_node_checks c ON c.node = n.name")) {
        try (ResultSet rs = q.executeQuery()) {
          while (rs.next()) {
            String name = rs.getString("name");
            seenUrls.put(name, rs.getString("advertised_url"));
            Instant now = rs.getTimestamp("db_now").toInstant();
            boolean paused = rs.getBoolean("paused");
            boolean draining = rs.getBoolean("draining");
            // A node that cannot open the key ring never takes the role (see ProtectionMonitor).
            boolean able =
                name.equals(me)
                    ? eligible.getAsBoolean()
                    : rs.getObject("eligible") == null || rs.getBoolean("eligible");
            if (name.equals(me)) {
              selfPaused = paused || !able;
              selfDraining = draining;
            }
            Instant beat = rs.getTimestamp("heartbeat_at").toInstant();
            boolean alive = name.equals(me) || timing.isLive(beat, now);
            if (alive && !paused && !draining && (able || name.equals(me))) {
              live.put(
                  new NodeId(name),
                  Duration.between(rs.getTimestamp("started_at").toInstant(), now));
            }
          }
        }
      }
      urls = Map.copyOf(seenUrls);
      // A lock already held was checked to be on this server at acquisition and is at every
      // renewal.
      boolean lock = holdsLock && verifyLock();
      if (!owner
          && !lock
          && locksSupported()
          && lease.ownerHasLock()
          && lease.owner() != null
          && !selfPaused) {
        lock = lockOn(c);
        if (lock) {
          lease =
              new LeaseView(
                  lease.owner(),
                  lease.epoch(),
                  lease.expired(),
                  lease.handoverTo(),
                  lease.ownerHasLock(),
                  ownerGone(c, lease.owner().name()));
        }
      }
      return new ClusterView(
          lease,
          maintenance,
          failed,
          NodeId.of(moveTo),
          moveBy,
          selfPaused,
          selfDraining,
          live,
          recent,
          lock,
          dialect == Dialect.H2);
    }
  }

  /**
   * Whether the process of {@code owner}, whose lock session has ended, is gone: none of its
   * sessions remains (every connection of a node process carries its instance id in {@code
   * application_name}), and it renewed the lease after this node's lock session opened, so its
   * sessions did not all end in a restart of the database server. A session ended by an
   * administrator while the process lives leaves its other sessions; a restart is caught by the
   * second condition.
   */
  private boolean ownerGone(Connection c, String owner) throws SQLException {
    if (lockSessionSince == null) {
      return false;
    }
    try (PreparedStatement q =
        c.prepareStatement(
            "SELECT l.renewed_at > ? AS renewed_since, (SELECT COUNT(*) FROM pg_stat_activity a"
                + " WHERE a.application_name LIKE 'vigil:' || n.instance_id || ':%') AS sessions"
                + " FROM cluster_lease l JOIN cluster_nodes n ON n.name = l.owner"
                + " WHERE l.role = ? AND l.owner = ?")) {
      q.setTimestamp(1, lockSessionSince);
      q.setString(2, ROLE);
      q.setString(3, owner);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next() && rs.getBoolean("renewed_since") && rs.getLong("sessions") == 0;
      }
    }
  }

  // ---- acquire, renew, release

  /**
   * Takes the lease if it is still as seen. On success also moves the fencing epoch, which waits
   * for writes still in flight under the old epoch.
   *
   * @return the new epoch, or null when the lease had changed
   */
  @Override
  public Epoch acquire(AcquireMode mode, NodeId seenOwner, Epoch seenEpoch) throws SQLException {
    String condition =
        switch (mode) {
          // The owner as seen too: a release keeps the epoch, and may reserve the lease for
          // another.
          case FREE ->
              "(owner IS NULL OR expires_at < CURRENT_TIMESTAMP) AND owner IS NOT DISTINCT FROM ?";
          case HANDOVER -> "owner IS NULL AND handover_to = ?";
          case DEAD_OWNER -> "owner = ? AND owner_has_lock = TRUE";
          case OWN_PREVIOUS_RUN -> "owner = ?";
        };
    try (Connection c = dataSource.getConnection()) {
      boolean lock = lockOn(c);
      if (mode == AcquireMode.DEAD_OWNER && !lock) {
        return null;
      }
      c.setAutoCommit(false);
      try {
        if (dialect == Dialect.POSTGRESQL) {
          try (Statement s = c.createStatement()) {
            s.execute("SET LOCAL lock_timeout = '5s'");
          }
        }
        int rows;
        try (PreparedStatement u =
            c.prepareStatement(
                "UPDATE cluster_lease SET owner = ?, epoch = epoch + 1, expires_at = "
                    + dialect.nowPlusMillis(timing.leaseDuration().toMillis())
                    + ", handover_to = NULL, owner_has_lock = ?, acquired_at = CURRENT_TIMESTAMP,"
                    + " renewed_at = CURRENT_TIMESTAMP"
                    + " WHERE role = ? AND epoch = ? AND "
                    + condition)) {
          u.setString(1, me);
          u.setBoolean(2, lock);
          u.setString(3, ROLE);
          u.setLong(4, seenEpoch.value());
          switch (mode) {
            case HANDOVER, OWN_PREVIOUS_RUN -> u.setString(5, me);
            case DEAD_OWNER, FREE -> u.setString(5, NodeId.nameOf(seenOwner));
          }
          rows = u.executeUpdate();
        }
        if (rows != 1) {
          c.rollback();
          return null;
        }
        Epoch epoch = seenEpoch.next();
        if (dialect == Dialect.POSTGRESQL && seenOwner != null) {
          endFencedWorkOf(c, seenOwner.name());
        }
        try (PreparedStatement u =
            c.prepareStatement("UPDATE cluster_epoch SET epoch = ?, owner = ? WHERE role = ?")) {
          u.setLong(1, epoch.value());
          u.setString(2, me);
          u.setString(3, ROLE);
          u.executeUpdate();
        }
        c.commit();
        return epoch;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /**
   * Ends the sessions of the previous owner's process that hold a lock on the fencing epoch: its
   * writes in flight, which the new epoch would otherwise wait for (a paused process's backend
   * stays in its transaction until a timeout ends it). They roll back; the process learns at its
   * next write that it is fenced. Sessions are recognized by the instance id in their {@code
   * application_name}.
   */
  private void endFencedWorkOf(Connection c, String previousOwner) throws SQLException {
    try (PreparedStatement q =
        c.prepareStatement(
            "SELECT COUNT(pg_terminate_backend(a.pid)) FROM pg_stat_activity a"
                + " JOIN cluster_nodes n ON a.application_name LIKE 'vigil:' || n.instance_id ||"
                + " ':%' WHERE n.name = ? AND n.instance_id <> ? AND a.pid <> pg_backend_pid()"
                + " AND EXISTS (SELECT 1 FROM pg_locks k WHERE k.pid = a.pid"
                + " AND k.relation = 'cluster_epoch'::regclass)")) {
      q.setString(1, previousOwner);
      q.setString(2, instanceId);
      try (ResultSet rs = q.executeQuery()) {
        long ended = rs.next() ? rs.getLong(1) : 0;
        if (ended > 0) {
          log.info(
              "Cluster: ended {} database session(s) of {} that held its fenced writes open",
              ended,
              previousOwner);
        }
      }
    }
  }

  /** Extends the lease; false when it is no longer this node's at {@code epoch}. */
  @Override
  public boolean renew(Epoch epoch) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement u =
            c.prepareStatement(
                "UPDATE cluster_lease SET expires_at = "
                    + dialect.nowPlusMillis(timing.leaseDuration().toMillis())
                    + ", owner_has_lock = ?, renewed_at = CURRENT_TIMESTAMP WHERE role = ? AND"
                    + " owner = ? AND epoch = ?")) {
      c.setAutoCommit(true);
      boolean lock = locksSupported() && (verifyLock() || tryLock()) && lockOnServerOf(c);
      u.setBoolean(1, lock);
      u.setString(2, ROLE);
      u.setString(3, me);
      u.setLong(4, epoch.value());
      return u.executeUpdate() == 1;
    }
  }

  /** Gives the lease up, reserving it for {@code handoverTo}, and lets go of the lock. */
  @Override
  public void release(Epoch epoch, NodeId handoverTo) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement u =
            c.prepareStatement(
                "UPDATE cluster_lease SET owner = NULL, expires_at = CURRENT_TIMESTAMP, handover_to = ?,"
                    + " owner_has_lock = FALSE WHERE role = ? AND owner = ? AND epoch = ?")) {
      c.setAutoCommit(true);
      u.setString(1, NodeId.nameOf(handoverTo));
      u.setString(2, ROLE);
      u.setString(3, me);
      u.setLong(4, epoch.value());
      u.executeUpdate();
    } finally {
      releaseLock();
    }
  }

  // ---- records

  void history(String event, String reason) throws SQLException {
    update("INSERT INTO cluster_history (node, event, reason) VALUES (?, ?, ?)", me, event, reason);
  }

  /**
   * Marks the role failed, only while the lease is still this node's at {@code epoch}: a deposed
   * owner's late bookkeeping must not change what the next owner sees.
   *
   * @return whether it was marked
   */
  @Override
  public boolean markRoleFailed(Epoch epoch, String reason) throws SQLException {
    int n =
        updateCount(
            "UPDATE cluster_role SET failed = TRUE, failed_reason = ?, failed_at = CURRENT_TIMESTAMP"
                + " WHERE role = ? AND EXISTS (SELECT 1 FROM cluster_lease l WHERE l.role = ?"
                + " AND l.owner = ? AND l.epoch = ?)",
            reason,
            ROLE,
            ROLE,
            me,
            epoch.value());
    if (n > 0) {
      history("role_failed", reason);
    }
    return n > 0;
  }

  /** Clears a requested move, only while the lease is still this node's at {@code epoch}. */
  @Override
  public boolean clearMove(Epoch epoch) throws SQLException {
    return updateCount(
            "UPDATE cluster_role SET move_to = NULL, move_requested_by = NULL WHERE role = ?"
                + " AND EXISTS (SELECT 1 FROM cluster_lease l WHERE l.role = ? AND l.owner = ?"
                + " AND l.epoch = ?)",
            ROLE,
            ROLE,
            me,
            epoch.value())
        > 0;
  }

  void drained() throws SQLException {
    update("UPDATE cluster_nodes SET draining = FALSE, paused = TRUE WHERE name = ?", me);
    history("drained", me + " gave its role away and is paused");
  }

  void resourceState(String resource, String state, String problem) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      int n;
      try (PreparedStatement u =
          c.prepareStatement(
              "UPDATE cluster_resource_state SET state = ?, since = CURRENT_TIMESTAMP, last_problem = ? WHERE node = ? AND resource = ?")) {
        u.setString(1, state);
        u.setString(2, problem);
        u.setString(3, me);
        u.setString(4, resource);
        n = u.executeUpdate();
      }
      if (n == 0) {
        try (PreparedStatement i =
            c.prepareStatement(
                "INSERT INTO cluster_resource_state (node, resource, state, since, last_problem) VALUES (?, ?, ?, CURRENT_TIMESTAMP, ?)")) {
          i.setString(1, me);
          i.setString(2, resource);
          i.setString(3, state);
          i.setString(4, problem);
          i.executeUpdate();
        }
      }
    }
  }

  /** Receives one manual request. */
  interface RequestSink {
    void accept(long id, String action, String resource, String by);
  }

  /** Manual start/stop requests with an id above {@code afterId}, oldest first. */
  void requestsAfter(long afterId, RequestSink sink) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement q =
            c.prepareStatement(
                "SELECT id, action, resource, requested_by FROM cluster_requests WHERE id > ? ORDER BY id")) {
      q.setLong(1, afterId);
      try (ResultSet rs = q.executeQuery()) {
        while (rs.next()) {
          sink.accept(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4));
        }
      }
    }
  }

  private void update(String sql, Object... params) throws SQLException {
    updateCount(sql, params);
  }

  private int updateCount(String sql, Object... params) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement u = c.prepareStatement(sql)) {
      c.setAutoCommit(true);
      for (int i = 0; i < params.length; i++) {
        u.setObject(i + 1, params[i]);
      }
      return u.executeUpdate();
    }
  }

  @Override
  public void close() {
    releaseLock();
    dropLockConnection();
  }
}
