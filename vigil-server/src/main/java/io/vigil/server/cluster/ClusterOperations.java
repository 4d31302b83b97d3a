package io.vigil.server.cluster;

import io.vigil.server.db.Sql;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * {@link ClusterService} on the shared database: operator requests are rows the owner's failover
 * controller reads on its next poll; status is read from the lease, the node registry and the
 * resource states the owner reports. Every change is recorded in the cluster's history with who
 * asked for it.
 */
public final class ClusterOperations implements ClusterService {

  private final Jdbi jdbi;
  private final String me;
  private final ClusterTiming timing;
  private final List<Resource> builtins;

  public ClusterOperations(Jdbi jdbi, String me, ClusterTiming timing, List<Resource> builtins) {
    this.jdbi = jdbi;
    this.me = me;
    this.timing = timing;
    this.builtins = List.copyOf(builtins);
  }

  // ---------------------------------------------------------------- reads

  @Override
  public ClusterStatus status() {
    return jdbi.withHandle(
        h -> {
          var lease =
              h.createQuery(
                      "SELECT l.owner, l.epoch, l.acquired_at, l.expires_at < CURRENT_TIMESTAMP AS expired,"
                          + " r.maintenance, r.failed, r.failed_reason, r.move_to FROM cluster_lease l JOIN"
                          + " cluster_role r ON r.role = l.role WHERE l.role = :role")
                  .bind("role", LeaseStore.ROLE)
                  .mapToMap()
                  .one();
          String owner = (String) lease.get("owner");
          boolean expired = Boolean.TRUE.equals(lease.get("expired"));
          if (expired) {
            owner = null;
          }
          List<NodeStatus> nodes = new ArrayList<>();
          String ownerUrl = null;
          Instant dbNow =
              h.createQuery("SELECT CURRENT_TIMESTAMP")
                  .mapTo(java.sql.Timestamp.class)
                  .one()
                  .toInstant();
          for (var row :
              h.createQuery(
                      "SELECT n.*, c.eligible AS check_eligible, c.problem AS check_problem FROM"
                          + " cluster_nodes n LEFT JOIN cluster_node_checks c ON c.node = n.name"
                          + " ORDER BY n.name")
                  .mapToMap()
                  .list()) {
            String name = (String) row.get("name");
            Instant beat = instant(row.get("heartbeat_at"));
            boolean paused = Boolean.TRUE.equals(row.get("paused"));
            boolean draining = Boolean.TRUE.equals(row.get("draining"));
            boolean ineligible = Boolean.FALSE.equals(row.get("check_eligible"));
            boolean up = timing.isLive(beat, dbNow);
            String state = nodeState(up, name.equals(owner), draining, paused, ineligible);
            String url = (String) row.get("advertised_url");
            if (name.equals(owner)) {
              ownerUrl = url;
            }
            nodes.add(
                new NodeStatus(
                    name,
                    url,
                    state,
                    beat,
                    instant(row.get("started_at")),
                    paused,
                    draining,
                    ineligible ? (String) row.get("check_problem") : null));
          }
          Map<String, Map<String, Object>> states = new LinkedHashMap<>();
          if (owner != null) {
            for (var row :
                h.createQuery("SELECT * FROM cluster_resource_state WHERE node = :node")
                    .bind("node", owner)
                    .mapToMap()
                    .list()) {
              states.put((String) row.get("resource"), row);
            }
          }
          List<ResourceStatus> resources = new ArrayList<>();
          for (Resource r : builtins) {
            resources.add(resourceStatus(r.name(), "builtin", r.dependsOn(), owner, states));
          }
          for (GenericResource.Definition d : loadGenerics(h)) {
            resources.add(resourceStatus(d.name(), "generic", d.dependsOn(), owner, states));
          }
          return new ClusterStatus(
              LeaseStore.ROLE,
              owner,
              ownerUrl,
              ((Number) lease.get("epoch")).longValue(),
              owner == null ? null : instant(lease.get("acquired_at")),
              Boolean.TRUE.equals(lease.get("maintenance")),
              Boolean.TRUE.equals(lease.get("failed")),
              (String) lease.get("failed_reason"),
              (String) lease.get("move_to"),
              nodes,
              resources);
        });
  }

  private static ResourceStatus resourceStatus(
      String name,
      String kind,
      List<String> deps,
      String owner,
      Map<String, Map<String, Object>> states) {
    Map<String, Object> row = states.get(name);
    if (row == null) {
      return new ResourceStatus(name, kind, deps, "stopped", null, null, null);
    }
    return new ResourceStatus(
        name,
        kind,
        deps,
        (String) row.get("state"),
        owner,
        instant(row.get("since")),
        (String) row.get("last_problem"));
  }

  /** A node's state as status and validation show it; the first that applies wins. */
  private static String nodeState(
      boolean up, boolean owner, boolean draining, boolean paused, boolean ineligible) {
    if (!up) {
      return "down";
    }
    if (owner) {
      return "active";
    }
    if (draining) {
      return "draining";
    }
    if (paused) {
      return "paused";
    }
    return ineligible ? "ineligible" : "standby";
  }

  private static Instant instant(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof java.sql.Timestamp ts) {
      return ts.toInstant();
    }
    if (value instanceof java.time.OffsetDateTime odt) {
      return odt.toInstant();
    }
    if (value instanceof Instant i) {
      return i;
    }
    throw new IllegalArgumentException("not a time: " + value.getClass());
  }

  @Override
  public List<NodeValidation> validate() {
    return jdbi.withHandle(
        h -> {
          Instant dbNow =
              h.createQuery("SELECT CURRENT_TIMESTAMP")
                  .mapTo(java.sql.Timestamp.class)
                  .one()
                  .toInstant();
          String owner =
              h.createQuery("SELECT owner FROM cluster_lease WHERE role = :role")
                  .bind("role", LeaseStore.ROLE)
                  .mapTo(String.class)
                  .findOne()
                  .orElse(null);
          List<NodeValidation> out = new ArrayList<>();
          for (var row :
              h.createQuery(
                      "SELECT n.name, n.heartbeat_at, n.paused, n.draining, c.checked_at,"
                          + " c.eligible, c.problem, c.report FROM cluster_nodes n LEFT JOIN"
                          + " cluster_node_checks c ON c.node = n.name ORDER BY n.name")
                  .mapToMap()
                  .list()) {
            String name = (String) row.get("name");
            boolean up = timing.isLive(instant(row.get("heartbeat_at")), dbNow);
            String reportText = (String) row.get("report");
            com.fasterxml.jackson.databind.JsonNode report = null;
            if (reportText != null) {
              try {
                report = io.vigil.server.http.Json.MAPPER.readTree(reportText);
              } catch (java.io.IOException e) {
                report = null;
              }
            }
            boolean checked = row.get("eligible") != null;
            boolean eligible = Boolean.TRUE.equals(row.get("eligible"));
            List<String> breaks = new ArrayList<>();
            List<String> warnings = new ArrayList<>();
            if (report != null) {
              report.path("warnings").forEach(w -> warnings.add(w.asText()));
            }
            if (!checked) {
              breaks.add(
                  "unknown: the node has not published a check (it runs an older version, or has"
                      + " not started since the upgrade)");
            } else if (!eligible) {
              breaks.add(
                  "the node would not take the role, so the identity provider, the management"
                      + " server and every resource would stay stopped there: "
                      + row.get("problem"));
              if (report != null) {
                report
                    .path("secretsAtRisk")
                    .forEach(x -> breaks.add(x.asText() + " could not be read there"));
              }
            }
            String state =
                nodeState(
                    up,
                    name.equals(owner),
                    Boolean.TRUE.equals(row.get("draining")),
                    Boolean.TRUE.equals(row.get("paused")),
                    checked && !eligible);
            out.add(
                new NodeValidation(
                    name,
                    state,
                    up,
                    row.get("checked_at") == null ? null : instant(row.get("checked_at")),
                    eligible,
                    (String) row.get("problem"),
                    List.copyOf(breaks),
                    List.copyOf(warnings),
                    report));
          }
          return out;
        });
  }

  @Override
  public List<HistoryEntry> history(int limit) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT * FROM cluster_history ORDER BY id DESC LIMIT :limit")
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new HistoryEntry(
                            rs.getLong("id"),
                            Sql.instant(rs.getTimestamp("at")),
                            rs.getString("node"),
                            rs.getString("event"),
                            rs.getString("reason")))
                .list());
  }

  /** The operator-defined resources, in the order they were added. */
  public List<GenericResource.Definition> genericDefinitions() {
    return jdbi.withHandle(ClusterOperations::loadGenerics);
  }

  /**
   * The operator-defined resources, read through {@code controllerPool}: what the failover
   * controller's database worker polls. It must not use the API's pool: when that pool is exhausted
   * (a storm of requests) a read waiting for a connection would hold up the worker's next lease
   * renewal, and the owner would give the role up under load.
   */
  public static java.util.function.Supplier<List<GenericResource.Definition>> definitionsReader(
      javax.sql.DataSource controllerPool) {
    Jdbi own = Jdbi.create(controllerPool);
    return () -> own.withHandle(ClusterOperations::loadGenerics);
  }

  private static List<GenericResource.Definition> loadGenerics(Handle h) {
    return h.createQuery("SELECT * FROM cluster_resources ORDER BY created_at, name")
        .map(
            (rs, ctx) ->
                new GenericResource.Definition(
                    rs.getString("name"),
                    rs.getString("start_command"),
                    rs.getString("stop_command"),
                    rs.getString("check_command"),
                    splitDeps(rs.getString("depends_on")),
                    new ResourcePolicy(
                        Duration.ofMillis(rs.getLong("check_interval_ms")),
                        Duration.ofMillis(rs.getLong("check_timeout_ms")),
                        rs.getInt("restart_limit"),
                        Duration.ofMillis(rs.getLong("restart_period_ms")),
                        Duration.ofMillis(rs.getLong("start_timeout_ms")),
                        Duration.ofMillis(rs.getLong("stop_timeout_ms")))))
        .list();
  }

  private static List<String> splitDeps(String deps) {
    return deps == null || deps.isBlank() ? List.of() : Arrays.asList(deps.split(","));
  }

  // ---------------------------------------------------------------- changes

  @Override
  public void maintenance(boolean on, String by) {
    jdbi.useTransaction(
        h -> {
          h.createUpdate("UPDATE cluster_role SET maintenance = :on WHERE role = :role")
              .bind("on", on)
              .bind("role", LeaseStore.ROLE)
              .execute();
          record(
              h,
              on ? "maintenance_on" : "maintenance_off",
              "maintenance turned "
                  + (on ? "on" : "off")
                  + " by "
                  + by
                  + (on
                      ? ": monitoring and automatic failover are paused"
                      : ": monitoring resumes"));
        });
  }

  @Override
  public void move(String toNode, String by) {
    jdbi.useTransaction(
        h -> {
          var role = roleRow(h);
          if (Boolean.TRUE.equals(role.get("failed"))) {
            throw new ClusterException(
                409,
                "role_failed",
                "The role is failed; reset it (vigil cluster reset) before moving it.");
          }
          String target = toNode == null ? ClusterView.ANY_NODE.name() : toNode;
          if (toNode != null) {
            var node = nodeRow(h, toNode).orElseThrow(() -> unknownNode(toNode));
            if (Boolean.TRUE.equals(node.get("paused"))
                || Boolean.TRUE.equals(node.get("draining"))) {
              throw new ClusterException(
                  409,
                  "node_paused",
                  "Node "
                      + toNode
                      + " is paused; resume it first (vigil cluster node resume "
                      + toNode
                      + ").");
            }
            if (!isUp(h, node)) {
              throw new ClusterException(
                  409,
                  "node_down",
                  "Node " + toNode + " is not running (no recent heartbeat); start it first.");
            }
          }
          h.createUpdate(
                  "UPDATE cluster_role SET move_to = :to, move_requested_by = :by WHERE role = :role")
              .bind("to", target)
              .bind("by", by)
              .bind("role", LeaseStore.ROLE)
              .execute();
          record(
              h,
              "move_requested",
              "move to "
                  + (toNode == null ? "the most preferred other node" : toNode)
                  + " requested by "
                  + by);
        });
  }

  @Override
  public void pauseNode(String node, String by) {
    nodeFlags(
        node, "paused = TRUE", "node_paused", node + " paused by " + by + ": it takes no role");
  }

  @Override
  public void resumeNode(String node, String by) {
    nodeFlags(node, "paused = FALSE, draining = FALSE", "node_resumed", node + " resumed by " + by);
  }

  @Override
  public void drainNode(String node, String by) {
    nodeFlags(
        node,
        "draining = TRUE",
        "node_draining",
        node + " drained by " + by + ": its role moves away, then it is paused");
  }

  private void nodeFlags(String node, String set, String event, String reason) {
    jdbi.useTransaction(
        h -> {
          if (nodeRow(h, node).isEmpty()) {
            throw unknownNode(node);
          }
          h.createUpdate("UPDATE cluster_nodes SET " + set + " WHERE name = :name")
              .bind("name", node)
              .execute();
          record(h, event, reason);
        });
  }

  @Override
  public void addResource(GenericResource.Definition d, String by) {
    try {
      GenericResource.validate(d);
    } catch (IllegalArgumentException e) {
      throw new ClusterException(400, "invalid_resource", e.getMessage());
    }
    jdbi.useTransaction(
        h -> {
          List<String> known = new ArrayList<>(builtins.stream().map(Resource::name).toList());
          loadGenerics(h).forEach(g -> known.add(g.name()));
          if (known.contains(d.name())) {
            throw new ClusterException(
                409,
                "duplicate_resource",
                "A resource named "
                    + d.name()
                    + " already exists; remove it first or choose another name.");
          }
          for (String dep : d.dependsOn()) {
            if (!known.contains(dep)) {
              throw new ClusterException(
                  400,
                  "unknown_dependency",
                  "Resource "
                      + d.name()
                      + " depends on "
                      + dep
                      + ", which does not exist. Known: "
                      + known
                      + ".");
            }
          }
          ResourcePolicy p = d.policy();
          h.createUpdate(
                  "INSERT INTO cluster_resources (name, start_command, stop_command, check_command, depends_on,"
                      + " check_interval_ms, check_timeout_ms, restart_limit, restart_period_ms, start_timeout_ms,"
                      + " stop_timeout_ms, created_at, created_by) VALUES (:name, :start, :stop, :check, :deps,"
                      + " :ci, :ct, :rl, :rp, :st, :sp, CURRENT_TIMESTAMP, :by)")
              .bind("name", d.name())
              .bind("start", d.startCommand())
              .bind("stop", d.stopCommand())
              .bindByType("check", d.checkCommand(), String.class)
              .bind("deps", String.join(",", d.dependsOn()))
              .bind("ci", p.checkInterval().toMillis())
              .bind("ct", p.checkTimeout().toMillis())
              .bind("rl", p.restartLimit())
              .bind("rp", p.restartPeriod().toMillis())
              .bind("st", p.startTimeout().toMillis())
              .bind("sp", p.stopTimeout().toMillis())
              .bind("by", by)
              .execute();
          record(
              h,
              "resource_added",
              "generic resource "
                  + d.name()
                  + " added by "
                  + by
                  + (d.dependsOn().isEmpty() ? "" : " (depends on " + d.dependsOn() + ")"));
        });
  }

  @Override
  public void removeResource(String name, String by) {
    jdbi.useTransaction(
        h -> {
          List<GenericResource.Definition> generics = loadGenerics(h);
          if (builtins.stream().anyMatch(r -> r.name().equals(name))) {
            throw new ClusterException(
                409,
                "builtin_resource",
                "Resource " + name + " is built in and cannot be removed.");
          }
          if (generics.stream().noneMatch(g -> g.name().equals(name))) {
            throw new ClusterException(
                404, "not_found", "Resource \"" + name + "\" does not exist.");
          }
          List<String> dependents =
              generics.stream()
                  .filter(g -> g.dependsOn().contains(name))
                  .map(GenericResource.Definition::name)
                  .toList();
          if (!dependents.isEmpty()) {
            throw new ClusterException(
                409,
                "in_use",
                "Resources " + dependents + " depend on " + name + "; remove them first.");
          }
          h.createUpdate("DELETE FROM cluster_resources WHERE name = :name")
              .bind("name", name)
              .execute();
          record(h, "resource_removed", "generic resource " + name + " removed by " + by);
        });
  }

  @Override
  public void startResource(String name, String by) {
    manual("start", name, by);
  }

  @Override
  public void stopResource(String name, String by) {
    manual("stop", name, by);
  }

  private void manual(String action, String name, String by) {
    jdbi.useTransaction(
        h -> {
          if (!Boolean.TRUE.equals(roleRow(h).get("maintenance"))) {
            throw new ClusterException(
                409,
                "not_in_maintenance",
                "Resources are started and stopped by hand only in maintenance, so the controller does not undo it: run vigil cluster maintenance on first.");
          }
          boolean known =
              builtins.stream().anyMatch(r -> r.name().equals(name))
                  || loadGenerics(h).stream().anyMatch(g -> g.name().equals(name));
          if (!known) {
            throw new ClusterException(
                404, "not_found", "Resource \"" + name + "\" does not exist.");
          }
          h.createUpdate(
                  "INSERT INTO cluster_requests (action, resource, requested_by) VALUES (:a, :r, :by)")
              .bind("a", action)
              .bind("r", name)
              .bind("by", by)
              .execute();
        });
  }

  @Override
  public void resetRole(String by) {
    jdbi.useTransaction(
        h -> {
          h.createUpdate(
                  "UPDATE cluster_role SET failed = FALSE, failed_reason = NULL, failed_at = NULL,"
                      + " failovers_since = CURRENT_TIMESTAMP WHERE role = :role")
              .bind("role", LeaseStore.ROLE)
              .execute();
          record(h, "role_reset", "role reset by " + by + ": the failover count starts again");
        });
  }

  // ---------------------------------------------------------------- helpers

  private void record(Handle h, String event, String reason) {
    h.createUpdate(
            "INSERT INTO cluster_history (node, event, reason) VALUES (:node, :event, :reason)")
        .bind("node", me)
        .bind("event", event)
        .bind("reason", reason)
        .execute();
  }

  private static Map<String, Object> roleRow(Handle h) {
    return h.createQuery("SELECT * FROM cluster_role WHERE role = :role")
        .bind("role", LeaseStore.ROLE)
        .mapToMap()
        .one();
  }

  private static Optional<Map<String, Object>> nodeRow(Handle h, String name) {
    return h.createQuery("SELECT * FROM cluster_nodes WHERE name = :name")
        .bind("name", name)
        .mapToMap()
        .findOne();
  }

  private boolean isUp(Handle h, Map<String, Object> node) {
    Instant dbNow =
        h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(java.sql.Timestamp.class).one().toInstant();
    return timing.isLive(instant(node.get("heartbeat_at")), dbNow);
  }

  private static ClusterException unknownNode(String node) {
    return new ClusterException(
        404,
        "not_found",
        "No node named \""
            + node
            + "\" has joined this cluster; vigil cluster status lists the nodes.");
  }
}
