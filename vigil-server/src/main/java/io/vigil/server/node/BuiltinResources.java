package io.vigil.server.node;

import io.vigil.server.cluster.Resource;
import io.vigil.server.cluster.ResourcePolicy;
import io.vigil.server.cluster.VirtualIp;
import io.vigil.server.collector.DataCollector;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.collector.SiteFigures;
import io.vigil.server.collector.SystemMonitor;
import io.vigil.server.events.AlarmRetention;
import io.vigil.server.events.Alarms;
import io.vigil.server.events.EventRetention;
import io.vigil.server.events.EventStore;
import io.vigil.server.events.EventStream;
import io.vigil.server.identity.IdentityProvider;
import io.vigil.server.management.ConfigurationSignal;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The role's built-in resources, in dependency order: the client access point (this node answers
 * for the cluster's address), the identity provider, the management server, the event server, the
 * data collector. Each is a plain {@link Resource}; the controller treats them like any generic
 * resource.
 */
final class BuiltinResources {

  private static final Logger LOG = LoggerFactory.getLogger(BuiltinResources.class);

  static final String CLIENT_ACCESS_POINT = "client-access-point";
  static final String IDENTITY_PROVIDER = "identity-provider";
  static final String MANAGEMENT_SERVER = "management-server";
  static final String DATA_COLLECTOR = "data-collector";
  static final String EVENT_SERVER = "event-server";

  private BuiltinResources() {}

  static List<Resource> create(
      ResourcePolicy policy,
      LiveCheck httpLive,
      IdentityProvider idp,
      DataSource db,
      ConfigurationSignal configurationSignal,
      DataCollector collector,
      Duration sweepEvery,
      SystemMonitor monitor,
      Duration monitorEvery,
      SiteFigures figures,
      EventStore events,
      EventRetention retention,
      EventStream stream,
      Alarms alarms,
      AlarmRetention alarmRetention,
      SiteEvents siteEvents,
      CertificateWatch certificates,
      ProtectionWatch protection,
      VirtualIp virtualIp,
      BooleanSupplier owning) {
    return List.of(
        new ClientAccessPoint(
            policy, httpLive, virtualIp, owning, ClientAccessPoint::announceOnOwnThread),
        new IdentityProviderResource(policy, idp),
        new ManagementServer(policy, db, configurationSignal),
        new EventServer(
            policy,
            events,
            retention,
            stream,
            alarms,
            alarmRetention,
            siteEvents,
            certificates,
            protection),
        new DataCollectorResource(policy, collector, sweepEvery, monitor, monitorEvery, figures));
  }

  abstract static class Base implements Resource {
    private final String name;
    private final List<String> dependsOn;
    private final ResourcePolicy policy;

    Base(String name, List<String> dependsOn, ResourcePolicy policy) {
      this.name = name;
      this.dependsOn = dependsOn;
      this.policy = policy;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<String> dependsOn() {
      return dependsOn;
    }

    @Override
    public ResourcePolicy policy() {
      return policy;
    }

    @Override
    public void start(long epoch) throws Exception {}

    @Override
    public void stop() throws Exception {}

    /**
     * Everything a built-in resource does happens in this process behind the ownership check of
     * every request ({@code ActiveGate}), which closes the moment the node stops owning the role.
     */
    @Override
    public boolean forceStop() {
      return true;
    }
  }

  /**
   * Asks the node's own HTTP server, in-process, whether it is alive: null when it is, else the
   * problem. Never a call through the server's listener: a node whose connections are all taken by
   * clients is loaded, not failed, and restarting or failing the role over would not help.
   */
  @FunctionalInterface
  interface LiveCheck {
    String check() throws Exception;
  }

  /**
   * The address clients use. While it runs, this node answers {@code /cluster/active} with 200 and
   * serves the API; its check asks the node's own HTTP server, in-process, whether it is alive.
   *
   * <p>With a virtual IP address ({@code Cluster.VirtualIp}), as Pacemaker's {@code IPaddr2}: the
   * start adds the address to its interface and then announces it with gratuitous ARP in the
   * background (the role's other resources need not wait for the announcements); each check makes
   * sure the address is still there (adding it again if something took it off) and announces it
   * again; the stop ends announcements under way and removes the address. Should the node stop
   * renewing its lease without getting to the stop (its JVM paused, or killed), the dead man's
   * switch removes the address ({@link io.vigil.server.cluster.Watchdog}), which is why this
   * resource, with a virtual IP, starts only under a running switch. Nothing claims the address
   * (adds or announces it) unless the node still owns the role by its own clock ({@code owning}),
   * so an owner woken from a pause that the switch already took the address from does not claim it
   * back in the moment before its controller stops the resource.
   */
  static final class ClientAccessPoint extends Base {
    private final LiveCheck live;
    private final VirtualIp vip;
    private final BooleanSupplier owning;
    private final Executor announcer;
    private final Object lock = new Object();
    private long generation;
    private Thread announcing;
    private volatile String announceProblem;

    ClientAccessPoint(ResourcePolicy policy, LiveCheck live) {
      this(policy, live, null, () -> true, Runnable::run);
    }

    /**
     * @param vip the virtual IP address, or null for none
     * @param owning whether the node still owns the role by its own clock
     * @param announcer runs the announcements (a thread of their own; in tests, the caller's)
     */
    ClientAccessPoint(
        ResourcePolicy policy,
        LiveCheck live,
        VirtualIp vip,
        BooleanSupplier owning,
        Executor announcer) {
      super(CLIENT_ACCESS_POINT, List.of(), policy);
      this.live = live;
      this.vip = vip;
      this.owning = owning;
      this.announcer = announcer;
    }

    static void announceOnOwnThread(Runnable task) {
      Thread.ofVirtual().name("vigil-virtual-ip-announce").start(task);
    }

    @Override
    public boolean needsDeadMansSwitch() {
      return vip != null;
    }

    @Override
    public void start(long epoch) throws Exception {
      if (vip == null) {
        return;
      }
      announceProblem = null;
      if (!owning.getAsBoolean()) {
        throw new IOException(
            "not adding the virtual IP address " + vip + ": the node's lease deadline passed");
      }
      vip.add();
      LOG.info("Cluster: added the virtual IP address {}", vip);
      announce();
    }

    @Override
    public String check() throws Exception {
      String problem = live.check();
      if (problem != null || vip == null) {
        return problem;
      }
      String failed = announceProblem;
      if (failed != null) {
        return failed;
      }
      if (!owning.getAsBoolean()) {
        // Woken past the deadline: the controller stops the resource next; claim nothing.
        return null;
      }
      if (!vip.present()) {
        LOG.warn("Cluster: the virtual IP address {} was taken off; adding it again", vip);
        vip.add();
      }
      announce();
      return null;
    }

    @Override
    public void stop() throws Exception {
      if (vip == null) {
        return;
      }
      endAnnouncements();
      vip.remove();
      LOG.info("Cluster: removed the virtual IP address {}", vip);
    }

    /** After a stop that failed: removes the address once more; true only when it is gone. */
    @Override
    public boolean forceStop() {
      if (vip == null) {
        return true;
      }
      try {
        endAnnouncements();
        vip.remove();
        return !vip.present();
      } catch (IOException e) {
        LOG.error("Cluster: cannot remove the virtual IP address {}: {}", vip, e.getMessage());
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    /** Starts a round of announcements, ending one still under way. */
    private void announce() {
      long mine;
      synchronized (lock) {
        mine = ++generation;
        if (announcing != null) {
          announcing.interrupt();
        }
      }
      announcer.execute(
          () -> {
            synchronized (lock) {
              if (mine != generation) {
                return;
              }
              announcing = Thread.currentThread();
            }
            try {
              if (owning.getAsBoolean()) {
                vip.announce();
              }
            } catch (IOException e) {
              announceProblem = e.getMessage();
              LOG.warn("Cluster: {}", e.getMessage());
            } catch (InterruptedException e) {
              // Ended by a stop or by the next round: nothing more to send.
            } finally {
              synchronized (lock) {
                if (announcing == Thread.currentThread()) {
                  announcing = null;
                }
              }
            }
          });
    }

    /** No announcement may go out for an address this node is about to give up. */
    private void endAnnouncements() throws InterruptedException {
      Thread t;
      synchronized (lock) {
        generation++;
        t = announcing;
        if (t != null && t != Thread.currentThread()) {
          t.interrupt();
        }
      }
      if (t != null && t != Thread.currentThread()) {
        t.join(Duration.ofSeconds(2));
      }
    }
  }

  /**
   * The identity provider: on start it makes sure signing keys, clients and the admin exist; while
   * it runs it purges expired grants every {@link #PURGE_EVERY} (the first time a minute after it
   * started, so a start does not wait for it).
   */
  static final class IdentityProviderResource extends Base {
    static final Duration PURGE_EVERY = Duration.ofMinutes(15);
    static final Duration FIRST_PURGE = Duration.ofMinutes(1);

    private final IdentityProvider idp;
    private final Periodic purger;

    IdentityProviderResource(ResourcePolicy policy, IdentityProvider idp) {
      this(policy, idp, FIRST_PURGE, PURGE_EVERY);
    }

    IdentityProviderResource(
        ResourcePolicy policy, IdentityProvider idp, Duration firstPurge, Duration purgeEvery) {
      super(IDENTITY_PROVIDER, List.of(CLIENT_ACCESS_POINT), policy);
      this.idp = idp;
      this.purger =
          new Periodic(
              "vigil-idp-purge",
              "Purging expired grants",
              firstPurge,
              purgeEvery,
              idp::purgeExpired);
    }

    @Override
    public void start(long epoch) {
      idp.start();
      purger.start();
    }

    @Override
    public void stop() {
      purger.stop();
    }

    @Override
    public boolean forceStop() {
      stop();
      return true;
    }

    @Override
    public String check() {
      return idp.check();
    }
  }

  /** The management server: its check is a round trip to the database it serves from. */
  static final class ManagementServer extends Base {
    private final DataSource db;
    private final ConfigurationSignal configurations;

    ManagementServer(ResourcePolicy policy, DataSource db, ConfigurationSignal configurations) {
      super(MANAGEMENT_SERVER, List.of(IDENTITY_PROVIDER), policy);
      this.db = db;
      this.configurations = configurations;
    }

    @Override
    public void start(long epoch) {
      // ETags read in a previous term as owner may be stale: another owner may have changed them.
      configurations.forget();
    }

    @Override
    public String check() throws Exception {
      try (var c = db.getConnection();
          var s = c.createStatement()) {
        s.setQueryTimeout(2);
        s.execute("SELECT 1");
        return null;
      }
    }
  }

  /**
   * The data collector: while it runs it sweeps for servers whose heartbeats stopped every {@code
   * sweepEvery} ({@link DataCollector#sweep}), and runs the system monitor's calculation every
   * {@code monitorEvery} ({@link SystemMonitor#tick}) and its history rollup; with each sweep it
   * refreshes the site figures on {@code /metrics} when they are older than a few seconds ({@link
   * SiteFigures}), and clears them when it stops. Heartbeats themselves are requests to the
   * management server, which hands their figures to the monitor.
   */
  static final class DataCollectorResource extends Base {
    private final SystemMonitor monitor;
    private final SiteFigures figures;
    private final Periodic sweeper;
    private final Periodic calculator;

    DataCollectorResource(
        ResourcePolicy policy,
        DataCollector collector,
        Duration sweepEvery,
        SystemMonitor monitor,
        Duration monitorEvery,
        SiteFigures figures) {
      super(DATA_COLLECTOR, List.of(MANAGEMENT_SERVER), policy);
      this.monitor = monitor;
      this.figures = figures;
      // The management server's own check says whether the database is reachable.
      this.sweeper =
          new Periodic(
              "vigil-data-collector",
              "Looking for servers that stopped sending heartbeats",
              sweepEvery,
              sweepEvery,
              () -> {
                collector.sweep();
                figures.refresh();
              });
      this.calculator =
          new Periodic(
              "vigil-system-monitor",
              "Calculating the system monitor's states",
              monitorEvery,
              monitorEvery,
              () -> {
                monitor.tick();
                monitor.rollup();
              });
    }

    @Override
    public void start(long epoch) {
      sweeper.start();
      // Samples gathered before (a previous term as owner) are stale: start with empty windows.
      monitor.reset();
      calculator.start();
    }

    @Override
    public void stop() {
      sweeper.stop();
      calculator.stop();
      figures.clear();
    }

    @Override
    public boolean forceStop() {
      stop();
      return true;
    }

    /** Healthy while sweeping; a sweep's failure is retried, not a reason to fail the role over. */
    @Override
    public String check() {
      return null;
    }
  }

  /**
   * The event server: events are taken in and queried through the API, which only the owner serves;
   * while it runs it deletes events and alarms past their retention every {@link #PURGE_EVERY} (the
   * first time a minute after it started), in bounded batches ({@link EventRetention}, {@link
   * AlarmRetention}), escalates alarms that no operator acted on in time every {@link
   * #ESCALATE_EVERY}, and serves the live stream ({@link EventStream}), whose clients it
   * disconnects when it stops so that they reconnect to the node that runs it next.
   */
  static final class EventServer extends Base {
    static final Duration PURGE_EVERY = Duration.ofMinutes(5);
    static final Duration FIRST_PURGE = Duration.ofMinutes(1);
    static final Duration ESCALATE_EVERY = Duration.ofSeconds(5);
    static final Duration CERTIFICATE_EVERY = Duration.ofDays(1);
    static final Duration FIRST_CERTIFICATE_CHECK = Duration.ofMinutes(1);
    static final Duration PROTECTION_EVERY = Duration.ofMinutes(1);

    private final EventStore events;
    private final EventRetention retention;
    private final Alarms alarms;
    private final AlarmRetention alarmRetention;
    private final SiteEvents siteEvents;
    private final Periodic purger;
    private final EventStream stream;
    private final Periodic escalator;
    private final Periodic certificateCheck;
    private final Periodic protectionCheck;

    EventServer(
        ResourcePolicy policy,
        EventStore events,
        EventRetention retention,
        EventStream stream,
        Alarms alarms,
        AlarmRetention alarmRetention,
        SiteEvents siteEvents,
        CertificateWatch certificates,
        ProtectionWatch protection) {
      super(EVENT_SERVER, List.of(MANAGEMENT_SERVER), policy);
      this.events = events;
      this.retention = retention;
      this.stream = stream;
      this.alarms = alarms;
      this.alarmRetention = alarmRetention;
      this.siteEvents = siteEvents;
      this.purger =
          new Periodic(
              "vigil-event-purge",
              "Purging old events and alarms",
              FIRST_PURGE,
              PURGE_EVERY,
              this::purge);
      // Nothing escalates twice, and nothing is raised twice by the checks below.
      this.escalator =
          new Periodic(
              "vigil-alarm-escalation",
              "Escalating alarms",
              ESCALATE_EVERY,
              ESCALATE_EVERY,
              this::escalate);
      this.certificateCheck =
          new Periodic(
              "vigil-certificate-check",
              "Checking the HTTPS certificate's expiry",
              FIRST_CERTIFICATE_CHECK,
              CERTIFICATE_EVERY,
              certificates::check);
      this.protectionCheck =
          new Periodic(
              "vigil-protection-watch",
              "Checking the nodes' data protection",
              PROTECTION_EVERY,
              PROTECTION_EVERY,
              protection::check);
    }

    @Override
    public void start(long epoch) {
      purger.stop();
      if (retention.days() != 0 || alarmRetention.purges()) {
        purger.start();
      }
      stream.start();
      escalator.start();
      certificateCheck.start();
      protectionCheck.start();
    }

    private void purge() {
      int deleted = events.purge(retention);
      if (deleted > 0) {
        LOG.info("Deleted {} events older than {} days", deleted, retention.days());
      }
      int alarmsDeleted = alarms.purge(alarmRetention);
      if (alarmsDeleted > 0) {
        LOG.info("Deleted {} alarms past their retention", alarmsDeleted);
      }
    }

    private void escalate() {
      int escalated = alarms.escalate(siteEvents);
      if (escalated > 0) {
        LOG.info("Escalated {} alarms that no operator acted on in time", escalated);
      }
    }

    @Override
    public void stop() {
      purger.stop();
      stream.stop();
      escalator.stop();
      certificateCheck.stop();
      protectionCheck.stop();
    }

    @Override
    public boolean forceStop() {
      stop();
      return true;
    }

    @Override
    public String check() {
      return null;
    }
  }

  /**
   * A task a resource runs on its own thread at a fixed delay while the resource runs: {@link
   * #start} (again) begins a fresh schedule, {@link #stop} ends it and interrupts a run under way.
   * The task catches and logs its own failures, so one failed run never ends the schedule.
   */
  static final class Periodic {
    private final String thread;
    private final String what;
    private final Duration first;
    private final Duration every;
    private final Runnable task;
    private ScheduledExecutorService executor;
    private volatile boolean failing;

    /**
     * @param what what the task does, for the warning when it fails ("Purging expired grants")
     */
    Periodic(String thread, String what, Duration first, Duration every, Runnable task) {
      this.thread = thread;
      this.what = what;
      this.first = first;
      this.every = every;
      this.task = task;
    }

    /**
     * Runs the task. A failure (deposed: a fenced write refused; or the database away) is retried
     * by the next round, and a run of failures is logged once.
     */
    private void run() {
      try {
        task.run();
        failing = false;
      } catch (RuntimeException e) {
        if (!failing) {
          LOG.warn("{} failed: {}", what, e.getMessage());
        }
        failing = true;
      }
    }

    @SuppressWarnings("FutureReturnValueIgnored") // run() catches and logs the task's failures
    synchronized void start() {
      stop();
      failing = false;
      executor =
          Executors.newSingleThreadScheduledExecutor(
              Thread.ofPlatform().name(thread).daemon().factory());
      executor.scheduleWithFixedDelay(
          this::run, first.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    synchronized void stop() {
      if (executor != null) {
        executor.shutdownNow();
        executor = null;
      }
    }
  }
}
