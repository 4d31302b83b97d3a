package io.vigil.server.cluster;

import io.vigil.server.config.Settings;
import io.vigil.server.db.Dialect;
import io.vigil.server.http.RouteModule;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import javax.sql.DataSource;

/** How a node assembles its cluster parts from its settings. */
public final class Clusters {

  private Clusters() {}

  public static ClusterTiming timing(Settings.ClusterSection c) {
    return new ClusterTiming(
        Duration.ofMillis(c.leaseMillis),
        Duration.ofMillis(c.renewIntervalMillis),
        Duration.ofMillis(c.renewDeadlineMillis),
        Duration.ofMillis(c.pollIntervalMillis),
        Duration.ofMillis(c.handoverGraceMillis),
        Duration.ofMillis(c.failoverBackoffMillis),
        ClusterTiming.DEFAULT.preferenceStep());
  }

  public static RolePolicy rolePolicy(Settings.ClusterSection c) {
    return new RolePolicy(
        c.failoverLimit,
        Duration.ofMinutes(c.failoverPeriodMinutes),
        c.preferredOwners,
        c.failback,
        Duration.ofSeconds(c.failbackDelaySeconds));
  }

  public static ResourcePolicy resourcePolicy(Settings.ClusterSection c) {
    return new ResourcePolicy(
        Duration.ofMillis(c.checkIntervalMillis),
        Duration.ofMillis(c.checkTimeoutMillis),
        c.restartLimit,
        Duration.ofMinutes(c.restartPeriodMinutes),
        ResourcePolicy.DEFAULT.startTimeout(),
        ResourcePolicy.DEFAULT.stopTimeout());
  }

  /**
   * A node's failover controller, registered in the cluster's node table.
   *
   * @param instanceId this process's id, unique across restarts; its database sessions carry it
   *     ({@link #applicationName})
   * @param halt ends the process when the controller cannot go on
   * @throws ClusterException when another live node has the same name
   */
  public static FailoverController controller(
      String me,
      String instanceId,
      String advertisedUrl,
      ClusterTiming timing,
      RolePolicy policy,
      DataSource controllerPool,
      Dialect dialect,
      Settings settings,
      EpochFence fence,
      List<Resource> builtins,
      Supplier<List<GenericResource.Definition>> generics,
      java.util.function.BooleanSupplier eligible,
      java.util.function.IntConsumer halt,
      io.vigil.server.collector.SiteEvents siteEvents) {
    LeaseStore store =
        new LeaseStore(
            controllerPool,
            dialect,
            me,
            instanceId,
            timing,
            settings.databaseUrl(),
            settings.database.user,
            settings.database.password,
            eligible);
    register(store, advertisedUrl, timing);
    DeadMansSwitch deadMansSwitch =
        new DeadMansSwitch(
            instanceId,
            me,
            timing,
            dialect == Dialect.POSTGRESQL ? settings.databaseUrl() : null,
            settings.database.user,
            settings.database.password,
            settings.virtualIp());
    return new FailoverController(
        me,
        timing,
        policy,
        store,
        fence,
        builtins,
        generics,
        settings.dataDir,
        CommandEnvironment.of(System.getenv(), settings.cluster.resourceEnvironment),
        halt,
        deadMansSwitch,
        siteEvents);
  }

  /**
   * The {@code application_name} of a node process's PostgreSQL sessions: {@code vigil:<instance
   * id>:<purpose>:<node>}, cut to PostgreSQL's 63 characters. The instance id comes first, so a
   * standby can find every session of the owner's process.
   */
  public static String applicationName(String instanceId, String purpose, String node) {
    String name = "vigil:" + instanceId + ":" + purpose + ":" + node;
    return name.length() <= 63 ? name : name.substring(0, 63);
  }

  /** Registers the node; waits out the heartbeat of a previous, crashed run of the same name. */
  private static void register(LeaseStore store, String advertisedUrl, ClusterTiming timing) {
    String version = Clusters.class.getPackage().getImplementationVersion();
    long deadline = System.nanoTime() + store.liveWindow().plus(timing.renewInterval()).toNanos();
    while (true) {
      String problem;
      try {
        problem = store.register(advertisedUrl, version == null ? "dev" : version);
      } catch (java.sql.SQLException e) {
        throw new ClusterException(
            503, "database_unreachable", "Cannot join the cluster: " + e.getMessage());
      }
      if (problem == null) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new ClusterException(
            409,
            "duplicate_node",
            "Cannot join the cluster: "
                + problem
                + ". Give every node its own name (Node.Name or VIGIL_NODE_NAME).");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ClusterException(503, "interrupted", "Interrupted while joining the cluster.");
      }
    }
  }

  public static void fenced(FailoverController controller, String why) {
    controller.fenced(why);
  }

  /** The cluster API under /api/v1/cluster. */
  public static RouteModule routes(ClusterService service) {
    return new ClusterRoutes(service);
  }
}
