package io.vigil.server.node;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.identity.IdentityProvider;
import io.vigil.server.management.Devices;
import io.vigil.server.management.ManagementRoutes;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.management.SiteSettings;
import io.vigil.server.protect.DataProtection;
import io.vigil.server.protect.KeyRing;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Vigil node: its database, its services and its HTTP server. {@link #start} returns
 * once the node is ready; {@link #close} stops it in reverse order.
 */
public final class Node implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Node.class);

  private final Settings settings;
  private final Database database;
  private final HttpServer http;
  private final AtomicBoolean ready;
  private final CountDownLatch stopped = new CountDownLatch(1);

  private Node(Settings settings, Database database, HttpServer http, AtomicBoolean ready) {
    this.settings = settings;
    this.database = database;
    this.http = http;
    this.ready = ready;
  }

  /** Starts a node from its settings and returns when it is ready. */
  public static Node start(Settings settings) {
    long t0 = System.nanoTime();
    PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Database db =
        Database.open(
            settings.databaseUrl(),
            settings.database.user,
            settings.database.password,
            settings.database.poolSize);
    AtomicBoolean ready = new AtomicBoolean(false);
    HttpServer http;
    try {
      KeyRing ring = DataProtection.open(settings, db);
      Fence fence = Fence.unfenced(db.jdbi());
      IdentityProvider idp =
          new IdentityProvider(
              settings, db.jdbi(), fence, ring, Clock.systemUTC(), settings.adminPassword);
      idp.start();
      ManagementRoutes management =
          new ManagementRoutes(
              new ServerRegistry(fence),
              new Devices(fence, ring),
              new SiteSettings(fence),
              new AuditLog(db.jdbi()));
      http =
          HttpServer.start(
              settings,
              idp.authenticator(),
              metrics,
              ready::get,
              List.of(idp.routes(), management));
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
    ready.set(true);
    Node node = new Node(settings, db, http, ready);
    log.info(
        "Vigil node {} ready in {} ms at {} (listening on {}:{})",
        settings.nodeName(),
        (System.nanoTime() - t0) / 1_000_000,
        node.url(),
        settings.http.host,
        http.port());
    return node;
  }

  /** The base URL on which this node answers, e.g. {@code http://127.0.0.1:8080}. */
  public String url() {
    String host =
        "0.0.0.0".equals(settings.http.host) || "::".equals(settings.http.host)
            ? "127.0.0.1"
            : settings.http.host;
    return "http://" + host + ":" + http.port();
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

  /** Blocks until {@link #close} has run. */
  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  @Override
  public void close() {
    if (!ready.getAndSet(false) && stopped.getCount() == 0) {
      return;
    }
    log.info("Vigil node {} stopping", settings.nodeName());
    try {
      http.close();
    } finally {
      database.close();
      stopped.countDown();
    }
  }
}
