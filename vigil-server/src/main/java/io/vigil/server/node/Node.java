package io.vigil.server.node;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.ClusterOperations;
import io.vigil.server.cluster.ClusterTiming;
import io.vigil.server.cluster.Clusters;
import io.vigil.server.cluster.EpochFence;
import io.vigil.server.cluster.FailoverController;
import io.vigil.server.cluster.Resource;
import io.vigil.server.cluster.ResourcePolicy;
import io.vigil.server.cluster.RolePolicy;
import io.vigil.server.collector.DataCollector;
import io.vigil.server.collector.MonitorRoutes;
import io.vigil.server.collector.ServerLiveness;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.collector.SiteFigures;
import io.vigil.server.collector.SystemMonitor;
import io.vigil.server.component.ComponentRoutes;
import io.vigil.server.component.RegistrationTokens;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.db.Dialect;
import io.vigil.server.events.AlarmRetention;
import io.vigil.server.events.Alarms;
import io.vigil.server.events.EventRetention;
import io.vigil.server.events.EventRoutes;
import io.vigil.server.events.EventStore;
import io.vigil.server.events.EventStream;
import io.vigil.server.http.HttpServer;
import io.vigil.server.http.ServerTls;
import io.vigil.server.identity.IdentityProvider;
import io.vigil.server.identity.RequestRate;
import io.vigil.server.identity.SharedIssuer;
import io.vigil.server.identity.external.ClientAssertionKeys;
import io.vigil.server.management.ConfigurationSignal;
import io.vigil.server.management.Devices;
import io.vigil.server.management.ManagementRoutes;
import io.vigil.server.management.ServerConfigurations;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.management.SiteSettings;
import io.vigil.server.protect.CertificateStore;
import io.vigil.server.protect.DataProtection;
import io.vigil.server.protect.StoreTrust;
import io.vigil.server.protect.StoredCertificate;
import io.vigil.server.protect.Thumbprint;
import io.vigil.server.security.NativeCrypto;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Vigil node: its database, its services, its failover controller and its HTTP server.
 * A single server is a cluster of one: the same controller takes the lease in the embedded database
 * and starts the same role. {@link #start} returns once the node has settled (it is active, or it
 * has seen another node be active); {@link #close} hands the role over and stops.
 */
public final class Node implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Node.class);

  private final Settings settings;
  private final Database database;
  private final HikariDataSource controllerPool;
  private final FailoverController controller;
  private final HttpServer http;
  private final AtomicBoolean ready;
  private final ProtectionMonitor protection;
  private final CountDownLatch stopped = new CountDownLatch(1);

  private Node(
      Settings settings,
      Database database,
      HikariDataSource controllerPool,
      FailoverController controller,
      HttpServer http,
      AtomicBoolean ready,
      ProtectionMonitor protection) {
    this.protection = protection;
    this.settings = settings;
    this.database = database;
    this.controllerPool = controllerPool;
    this.controller = controller;
    this.http = http;
    this.ready = ready;
  }

  /** Starts a node from its settings and returns when it has settled. */
  public static Node start(Settings settings) {
    long t0 = System.nanoTime();
    DataDirectory.prepare(settings.dataDir);
    // Before anything uses a cipher, a key or a signature (TLS, the key ring, token signing).
    NativeCrypto.configure(settings.node.nativeCrypto);
    // This process's id: every database session it opens carries it, so that a standby can tell
    // whether this process still has any (see LeaseStore).
    String instanceId = UUID.randomUUID().toString();
    // A certificate that cannot be served stops the node before it touches the database.
    ServerTls tls = ServerTls.load(settings);
    PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Database db;
    try {
      db =
          Database.open(
              settings.databaseUrl(),
              settings.database.user,
              settings.database.password,
              settings.database.poolSize,
              Clusters.applicationName(instanceId, "db", settings.nodeName()));
    } catch (RuntimeException e) {
      if (tls != null) {
        tls.close();
      }
      throw e;
    }
    List<AutoCloseable> opened = new ArrayList<>();
    opened.add(db);
    if (tls != null) {
      opened.add(tls);
    }
    try {
      String me = settings.nodeName();
      long tDb = System.nanoTime();
      CertificateStore store = CertificateStore.forPlatform(settings.dataDir);
      ProtectionMonitor ring =
          ProtectionMonitor.start(
              settings, db, DataProtection.databaseClock(db), store, me, metrics);
      opened.add(ring);
      long tKeys = System.nanoTime();
      ClusterTiming timing = Clusters.timing(settings.cluster);
      RolePolicy policy = Clusters.rolePolicy(settings.cluster);
      ResourcePolicy resourcePolicy = Clusters.resourcePolicy(settings.cluster);
      AtomicReference<FailoverController> controllerRef = new AtomicReference<>();
      EpochFence fence =
          new EpochFence(
              db.jdbi(),
              db.dialect(),
              me,
              why -> {
                FailoverController c = controllerRef.get();
                if (c != null) {
                  Clusters.fenced(c, why);
                }
              });
      if (db.dialect() == Dialect.POSTGRESQL
          && (settings.identity.issuer == null || settings.identity.issuer.isBlank())) {
        settings.identity.issuer = SharedIssuer.resolve(db.jdbi(), settings.issuer());
      }
      IdentityProvider idp =
          new IdentityProvider(
              settings,
              db.jdbi(),
              fence,
              ring,
              // The personal certificate store: keys for external providers using
              // private_key_jwt, and the roots their HTTPS certificates must chain to.
              assertionKeys(store),
              StoreTrust.sslContext(store),
              Clock.systemUTC(),
              settings.adminPassword);
      SiteFigures figures = new SiteFigures(fence, Clock.systemUTC(), metrics);
      EventStore events = new EventStore(fence, figures::stored);
      // A comment on an idle stream well within the HTTP idle timeout (at least 1 s).
      EventStream stream =
          new EventStream(
              fence,
              Duration.ofMillis(Math.min(15_000L, settings.http.idleTimeoutSeconds * 1000L / 2)));
      SiteEvents storeSiteEvents = EventStore.siteEvents();
      SiteEvents siteEvents =
          (h, type, source, severity, message, data) -> {
            storeSiteEvents.raise(h, type, source, severity, message, data);
            figures.stored(1);
          };
      SystemMonitor monitor =
          new SystemMonitor(
              fence, siteEvents, Clock.systemUTC(), settings.collector.monitorHistoryDays);
      Alarms alarms = new Alarms(fence);
      ConfigurationSignal configurationSignal = new ConfigurationSignal();
      ServerRegistry serverRegistry =
          new ServerRegistry(
              fence,
              db.dialect(),
              siteEvents,
              monitor::record,
              configurationSignal,
              Duration.ofMillis(settings.collector.heartbeatBatchMillis));
      ManagementRoutes management =
          new ManagementRoutes(
              serverRegistry,
              new Devices(fence, ring, configurationSignal),
              new SiteSettings(fence),
              new AuditLog(db.jdbi()),
              new ServerConfigurations(fence),
              configurationSignal,
              // A long poll ends before the HTTP idle timeout would close its quiet connection.
              settings.http.idleTimeoutSeconds - 2);
      AtomicReference<HttpServer> httpRef = new AtomicReference<>();
      List<Resource> builtins =
          BuiltinResources.create(
              resourcePolicy,
              () -> {
                HttpServer h = httpRef.get();
                return h == null ? "the node's HTTP server is not listening yet" : h.checkLive();
              },
              idp,
              db.dataSource(),
              configurationSignal,
              new DataCollector(
                  fence,
                  db.dialect(),
                  new ServerLiveness(settings.collector.missedHeartbeats),
                  siteEvents),
              Duration.ofMillis(settings.collector.sweepIntervalMillis),
              monitor,
              Duration.ofSeconds(settings.collector.monitorTickSeconds),
              figures,
              events,
              EventRetention.ofDays(settings.events.retentionDays),
              stream,
              alarms,
              AlarmRetention.ofDays(
                  settings.events.closedAlarmRetentionDays, settings.events.alarmRetentionDays),
              siteEvents,
              new CertificateWatch(
                  fence,
                  siteEvents,
                  settings.nodeName(),
                  () -> tls == null ? Optional.empty() : Optional.of(tls.notAfter())),
              new ProtectionWatch(fence, siteEvents),
              settings.virtualIp() == null
                  ? null
                  : new io.vigil.server.cluster.VirtualIp(settings.virtualIp()),
              () -> {
                FailoverController c = controllerRef.get();
                return c != null && c.ownsByItsClock();
              });
      ClusterOperations operations = new ClusterOperations(db.jdbi(), me, timing, builtins);

      HikariDataSource controllerPool = controllerPool(settings, db.dialect(), instanceId);
      opened.add(controllerPool);
      FailoverController controller =
          Clusters.controller(
              me,
              instanceId,
              settings.advertisedUrl(),
              timing,
              policy,
              controllerPool,
              db.dialect(),
              settings,
              fence,
              builtins,
              ClusterOperations.definitionsReader(controllerPool),
              ring::eligible,
              Runtime.getRuntime()::halt,
              siteEvents);
      controllerRef.set(controller);
      ActiveGate gate = new ActiveGate(controller, me, settings.advertisedUrl(), ring::problem);
      AtomicBoolean ready = new AtomicBoolean(false);
      HttpServer http =
          HttpServer.start(
              settings,
              tls,
              idp.authenticator(),
              metrics,
              ready::get,
              gate,
              List.of(
                  gate.routes(),
                  idp.routes(),
                  management,
                  new ComponentRoutes(
                      new RegistrationTokens(
                          fence, idp.clients(), serverRegistry, Clock.systemUTC()),
                      new RequestRate(Clock.systemUTC(), settings.identity.tokenRequestsPerMinute)),
                  new EventRoutes(events, stream),
                  new io.vigil.server.events.AlarmRoutes(
                      new io.vigil.server.events.AlarmDefinitions(fence), alarms),
                  new MonitorRoutes(monitor),
                  Clusters.routes(operations)));
      opened.add(http);
      httpRef.set(http);
      long tHttp = System.nanoTime();
      controller.start();
      opened.add(controller);
      settle(controller, gate, db.dialect() == Dialect.H2, ring);
      long tRole = System.nanoTime();
      ready.set(true);
      Node node = new Node(settings, db, controllerPool, controller, http, ready, ring);
      log.info(
          "Vigil node {} ready in {} ms at {} ({}; listening on {}:{}; database {} ms, key ring {}"
              + " ms, services and HTTP {} ms, role {} ms)",
          me,
          (System.nanoTime() - t0) / 1_000_000,
          node.url(),
          controller.isActive() ? "active" : ring.eligible() ? "standby" : "not eligible",
          settings.http.host,
          http.port(),
          (tDb - t0) / 1_000_000,
          (tKeys - tDb) / 1_000_000,
          (tHttp - tKeys) / 1_000_000,
          (tRole - tHttp) / 1_000_000);
      ring.problem()
          .ifPresent(
              why ->
                  log.error(
                      "Vigil node {} is not eligible for the role: it stays a standby, and not"
                          + " ready, until the data protection problem above is fixed (it checks"
                          + " again every {} s)",
                      me,
                      ProtectionMonitor.RECHECK_INELIGIBLE.toSeconds()));
      return node;
    } catch (RuntimeException e) {
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * Waits until the node is active, or has seen another active node, or (in a cluster) until the
   * role had time to be placed. A single server waits to be active: it is the only candidate.
   */
  private static void settle(
      FailoverController controller,
      ActiveGate gate,
      boolean single,
      ProtectionMonitor protection) {
    long deadline = System.nanoTime() + Duration.ofSeconds(single ? 60 : 10).toNanos();
    while (System.nanoTime() < deadline) {
      if (!protection.eligible()) {
        return;
      }
      if (controller.isServing()) {
        return;
      }
      if (!single && controller.lastView() != null) {
        ActiveGate.Active active = gate.active();
        if (active != null && !controller.isActive()) {
          return;
        }
        var view = controller.lastView();
        if (view.selfPaused() || view.roleFailed() || view.maintenance()) {
          return;
        }
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** {@code private_key_jwt} keys from the node's personal certificate store. */
  private static ClientAssertionKeys assertionKeys(CertificateStore store) {
    return thumbprint -> {
      try {
        return store
            .find(Thumbprint.parse(thumbprint))
            .map(c -> new ClientAssertionKeys.KeyAndCertificate(c.privateKey(), c.certificate()));
      } catch (IllegalArgumentException | StoredCertificate.KeyAccessException e) {
        return Optional.empty();
      }
    };
  }

  private static HikariDataSource controllerPool(
      Settings settings, Dialect dialect, String instanceId) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(settings.databaseUrl());
    if (settings.database.user != null) {
      config.setUsername(settings.database.user);
    }
    if (settings.database.password != null) {
      config.setPassword(settings.database.password);
    }
    config.setPoolName("vigil-controller");
    config.setMaximumPoolSize(2);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(2_000);
    config.setValidationTimeout(1_000);
    config.setInitializationFailTimeout(-1);
    if (dialect == Dialect.POSTGRESQL) {
      // A cut-off database must fail the controller's statements quickly, not hang them.
      config.addDataSourceProperty("socketTimeout", "3");
      config.addDataSourceProperty("connectTimeout", "2");
      config.addDataSourceProperty(
          "ApplicationName",
          Clusters.applicationName(instanceId, "controller", settings.nodeName()));
    }
    return new HikariDataSource(config);
  }

  /**
   * The base URL on which this node answers from this machine, e.g. {@code http://127.0.0.1:8080},
   * or {@code https://…} when it serves HTTPS.
   */
  public String url() {
    return http.localUrl();
  }

  public int port() {
    return http.port();
  }

  public Settings settings() {
    return settings;
  }

  public Database database() {
    return database;
  }

  public HttpServer http() {
    return http;
  }

  /** Whether this node is the cluster's active node now. */
  public boolean isActive() {
    return controller.isActive();
  }

  /** Blocks until {@link #close} has run. */
  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  @Override
  public void close() {
    if (stopped.getCount() == 0) {
      return;
    }
    log.info("Vigil node {} stopping", settings.nodeName());
    ready.set(false);
    try {
      controller.close();
    } finally {
      try {
        http.close();
      } finally {
        protection.close();
        controllerPool.close();
        database.close();
        stopped.countDown();
      }
    }
  }
}
