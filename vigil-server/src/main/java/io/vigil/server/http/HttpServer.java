package io.vigil.server.http;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.Settings;
import io.vigil.server.db.DatabaseUnavailable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP server: health and metrics, then each {@link RouteModule}'s routes, with one
 * error format ({@link ErrorBody}) for everything that goes wrong, and a bearer token required on
 * every path under {@code /api}.
 *
 * <p>It serves HTTPS when the settings name a certificate ({@link ServerTls}), else plain HTTP.
 * Every request's client is resolved once, when it arrives ({@link ClientAddress}, honouring {@code
 * Http.TrustedProxies}); responses to clients that used HTTPS carry {@code
 * Strict-Transport-Security}.
 *
 * <p>In front of the routes, Jetty is set up so that no client can hold what others need: at most
 * {@code Http.MaxConnections} connections and {@code Http.MaxConnectionsPerAddress} from one
 * address ({@link AddressConnectionLimit}), idle connections closed after {@code
 * Http.IdleTimeoutSeconds}, headers bounded by {@code Http.MaxRequestHeaderBytes}, and bodies read
 * in full without a thread, under a deadline ({@link RequestBodyReader}). Every response carries
 * the {@link SecurityHeaders}; Jetty's own errors are JSON too ({@link JsonErrorHandler}).
 */
public final class HttpServer implements AutoCloseable {

  static final String PRINCIPAL = "vigil.principal";

  /**
   * The API routes a caller reaches without a bearer token: component registration, whose caller
   * proves itself with a one-time registration token in the body.
   */
  public static final java.util.Set<String> UNAUTHENTICATED_API =
      java.util.Set.of("/api/v1/components/register");

  static final String ROUTE = "vigil.route";
  private static final String TIMER = "vigil.timer";
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  static final String HSTS = SecurityHeaders.HSTS;

  /**
   * The listening socket's backlog: connections the kernel completes while the acceptor is busy.
   * Jetty's default leaves it to the JDK's 50, and a burst beyond that (every component
   * reconnecting to a new owner at once) makes Linux drop handshakes, which clients see as
   * connections closed before any answer. The kernel caps it at {@code net.core.somaxconn} (4096 on
   * current Linux, 128 on older kernels), as nginx's {@code backlog} is.
   */
  static final int ACCEPT_QUEUE = 1024;

  /** The methods that label metrics as themselves; any other is {@code OTHER}. */
  private static final Set<String> KNOWN_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT");

  private final Javalin app;
  private final List<RouteInfo> routes;
  private final ServerTls tls;
  private final String host;
  private final Server server;
  private final List<ServerConnector> connectors;

  private HttpServer(
      Javalin app,
      List<RouteInfo> routes,
      ServerTls tls,
      String host,
      Server server,
      List<ServerConnector> connectors) {
    this.app = app;
    this.routes = routes;
    this.tls = tls;
    this.host = host;
    this.server = server;
    this.connectors = List.copyOf(connectors);
  }

  /**
   * Starts listening.
   *
   * @param ready answers whether this node serves the API now (readiness)
   */
  public static HttpServer start(
      Settings settings,
      Authenticator authenticator,
      PrometheusMeterRegistry metrics,
      BooleanSupplier ready,
      List<RouteModule> modules) {
    return start(settings, authenticator, metrics, ready, ctx -> {}, modules);
  }

  /**
   * Starts listening, with a {@code gate} that sees every request first: on a cluster node it
   * redirects requests the node must not serve to the active node.
   */
  public static HttpServer start(
      Settings settings,
      Authenticator authenticator,
      PrometheusMeterRegistry metrics,
      BooleanSupplier ready,
      io.javalin.http.Handler gate,
      List<RouteModule> modules) {
    return start(settings, ServerTls.load(settings), authenticator, metrics, ready, gate, modules);
  }

  /**
   * Starts listening with a certificate loaded beforehand (so that a node can refuse a bad one
   * before it opens its database), or on plain HTTP when {@code tls} is null. The server owns
   * {@code tls} from here on: it watches it for a replaced certificate and closes it.
   */
  public static HttpServer start(
      Settings settings,
      ServerTls tls,
      Authenticator authenticator,
      PrometheusMeterRegistry metrics,
      BooleanSupplier ready,
      io.javalin.http.Handler gate,
      List<RouteModule> modules) {
    Api[] api = new Api[1];
    long maxBody = settings.http.maxRequestBytes;
    TrustedProxies proxies = TrustedProxies.parse(settings.http.trustedProxies);
    AddressConnectionLimit perAddress =
        new AddressConnectionLimit(
            settings.http.maxConnectionsPerAddress,
            proxies,
            Counter.builder("vigil.http.connections.refused")
                .description("Connections closed for exceeding Http.MaxConnectionsPerAddress")
                .register(metrics));
    Server[] jetty = new Server[1];
    List<ServerConnector> connectors = new ArrayList<>();
    Javalin app =
        Javalin.create(
            config -> {
              config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
              config.http.maxRequestSize = maxBody;
              config.http.defaultContentType = "application/json";
              config.startup.showJavalinBanner = false;
              config.jetty.host = settings.http.host;
              config.jetty.port = settings.http.port;
              config.jetty.modifyServer(
                  server -> {
                    jetty[0] = server;
                    server.setStopTimeout(2_000);
                    server.setErrorHandler(new JsonErrorHandler(maxBody));
                    // Each insert goes in front of the previous: headers first, then the body.
                    server.insertHandler(
                        new RequestBodyReader(
                            maxBody, Duration.ofSeconds(settings.http.requestBodyTimeoutSeconds)));
                    server.insertHandler(new SecurityHeaders());
                    server.insertHandler(new ConditionalGet.HeaderHider());
                    server.addBean(
                        new NetworkConnectionLimit(settings.http.maxConnections, server));
                  });
              config.jetty.modifyHttpConfiguration(
                  httpConfig -> {
                    httpConfig.setRequestHeaderSize(settings.http.maxRequestHeaderBytes);
                    httpConfig.setSendServerVersion(false);
                    httpConfig.setSendXPoweredBy(false);
                  });
              config.jetty.addConnector(
                  (server, httpConfig) -> {
                    ServerConnector c = connector(server, httpConfig, tls, settings, perAddress);
                    connectors.add(c);
                    return c;
                  });

              var r = config.routes;
              r.before(
                  ctx -> {
                    ctx.attribute(TIMER, Timer.start(metrics));
                    ClientAddress client = ClientAddress.resolve(proxies, ctx);
                    ctx.attribute(ClientAddress.ATTRIBUTE, client);
                    if (client.secure()) {
                      // Also behind a trusted proxy that says the client used HTTPS.
                      ctx.header("Strict-Transport-Security", HSTS);
                    }
                    gate.handle(ctx);
                  });
              r.before(
                  "/api/*",
                  ctx -> {
                    if (HandlerType.OPTIONS.equals(ctx.method())
                        || UNAUTHENTICATED_API.contains(ctx.path())) {
                      return;
                    }
                    ctx.attribute(PRINCIPAL, authenticator.authenticate(bearer(ctx)));
                  });
              r.after("/api/v1/*", ConditionalGet::apply);
              r.after(ctx -> record(metrics, ctx));

              r.exception(
                  ApiException.class, (e, ctx) -> error(ctx, e.status(), e.code(), e.getMessage()));
              r.exception(
                  HttpResponseException.class,
                  (e, ctx) -> error(ctx, e.getStatus(), codeFor(e.getStatus()), e.getMessage()));
              r.exception(
                  Exception.class,
                  (e, ctx) -> {
                    if (DatabaseUnavailable.causedBy(e)) {
                      log.warn(
                          "{} {}: the database is unavailable: {}",
                          ctx.method(),
                          ctx.path(),
                          DatabaseUnavailable.reason(e));
                      ctx.header("Retry-After", "1");
                      error(
                          ctx,
                          503,
                          "database_unavailable",
                          "The database cannot be reached now; retry in a moment.");
                      return;
                    }
                    log.error("Unhandled error on {} {}", ctx.method(), ctx.path(), e);
                    error(
                        ctx,
                        500,
                        "internal_error",
                        "The server failed to handle this request; the node's log has the details.");
                  });
              r.error(
                  404,
                  ctx -> {
                    if (ctx.result() == null || ctx.result().isEmpty()) {
                      error(
                          ctx,
                          404,
                          "not_found",
                          "No resource at " + ctx.method() + " " + ctx.path() + ".");
                    }
                  });
              r.error(
                  405,
                  ctx -> {
                    if (ctx.result() == null || ctx.result().isEmpty()) {
                      error(
                          ctx,
                          405,
                          "method_not_allowed",
                          ctx.method() + " is not allowed on " + ctx.path() + ".");
                    }
                  });

              api[0] = new Api(r);
              Api a = api[0];
              a.open(HandlerType.GET, "/health/live", ctx -> ctx.json(Map.of("status", "UP")));
              a.open(
                  HandlerType.GET,
                  "/health/ready",
                  ctx -> {
                    if (ready.getAsBoolean()) {
                      ctx.json(Map.of("status", "UP"));
                    } else {
                      Map<String, Object> body = new LinkedHashMap<>();
                      body.put("status", "DOWN");
                      body.put("code", "starting");
                      body.put("reason", "The node is starting.");
                      ctx.status(503).json(body);
                    }
                  });
              a.open(
                  HandlerType.GET,
                  "/metrics",
                  ctx ->
                      ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                          .result(metrics.scrape()));
              modules.forEach(m -> m.register(a));
            });
    try {
      app.start();
    } catch (RuntimeException e) {
      if (tls != null) {
        tls.close();
      }
      throw e;
    }
    if (tls != null) {
      tls.watch();
      log.info("Serving HTTPS with {}", tls.describe());
    }
    return new HttpServer(app, api[0].table(), tls, settings.http.host, jetty[0], connectors);
  }

  /**
   * The listener on the configured host and port: HTTP/1.1, behind Jetty's SSL connection factory
   * when {@code tls} is not null, with the idle timeout and the per-address connection limit.
   */
  private static ServerConnector connector(
      Server server,
      HttpConfiguration httpConfig,
      ServerTls tls,
      Settings settings,
      AddressConnectionLimit perAddress) {
    ConnectionFactory[] factories;
    if (tls != null) {
      // The SNI host check would answer 400 to a client that reaches the node by a name or
      // address the certificate does not list, such as a load balancer's health check by IP;
      // clients verify the host name against the certificate themselves.
      SecureRequestCustomizer secure = new SecureRequestCustomizer();
      secure.setSniHostCheck(false);
      secure.setSniRequired(false);
      httpConfig.addCustomizer(secure);
      httpConfig.setSecureScheme("https");
      factories =
          new ConnectionFactory[] {
            new SslConnectionFactory(tls.factory(), HttpVersion.HTTP_1_1.asString()),
            new HttpConnectionFactory(httpConfig)
          };
    } else {
      factories = new ConnectionFactory[] {new HttpConnectionFactory(httpConfig)};
    }
    ServerConnector connector = new ServerConnector(server, factories);
    connector.setHost(settings.http.host);
    connector.setPort(settings.http.port);
    connector.setIdleTimeout(settings.http.idleTimeoutSeconds * 1000L);
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    connector.getSelectorManager().addEventListener(perAddress);
    return connector;
  }

  /** The port the server listens on (useful when configured with port 0). */
  public int port() {
    return app.port();
  }

  /** {@code https} when the server has a certificate, else {@code http}. */
  public String scheme() {
    return tls != null ? "https" : "http";
  }

  /** The served certificate, or null on plain HTTP. */
  public ServerTls tls() {
    return tls;
  }

  /**
   * The URL this node answers on from this machine: the loopback address when it listens on every
   * interface, else the address it listens on.
   */
  public String localUrl() {
    String h = "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : host;
    if (h.contains(":") && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    return scheme() + "://" + h + ":" + port();
  }

  /**
   * Whether the server is alive, asked in-process: it is started and its listener is open. This
   * needs no connection of its own, so it stays true while clients hold every connection the limits
   * allow (which is load, not failure: a restart or failover would not help).
   *
   * @return null when alive, else what is wrong
   */
  public String checkLive() {
    if (!server.isStarted() || server.isStopping()) {
      return "the node's HTTP server is " + server.getState().toLowerCase(Locale.ROOT);
    }
    for (ServerConnector c : connectors) {
      if (!c.isStarted() || !c.isOpen()) {
        return "the node's HTTP listener on port " + port() + " is closed";
      }
    }
    return null;
  }

  /** Every route registered, for the OpenAPI check. */
  public List<RouteInfo> routes() {
    return routes;
  }

  @Override
  public void close() {
    try {
      app.stop();
    } finally {
      if (tls != null) {
        tls.close();
      }
    }
  }

  static void error(Context ctx, int status, String code, String message) {
    ctx.status(status).json(new ErrorBody(code, message));
  }

  private static String bearer(Context ctx) {
    String header = ctx.header("Authorization");
    if (header == null || header.isBlank()) {
      throw ApiException.unauthorized(
          "This request needs a bearer token: get one from /idp/connect/token and send"
              + " \"Authorization: Bearer <token>\".");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw ApiException.unauthorized(
          "The Authorization header must be \"Bearer <token>\"; other schemes are not accepted.");
    }
    return header.substring(7).trim();
  }

  private static String codeFor(int status) {
    return JsonErrorHandler.code(status);
  }

  private static void record(PrometheusMeterRegistry metrics, Context ctx) {
    Timer.Sample sample = ctx.attribute(TIMER);
    if (sample == null) {
      return;
    }
    // Only values the server chose: a route as declared, never a path or method a client sent.
    String route = ctx.attribute(ROUTE);
    if (route == null) {
      route = "unmatched";
    }
    String method = ctx.method().name();
    if (!KNOWN_METHODS.contains(method)) {
      method = "OTHER";
    }
    sample.stop(
        Timer.builder("vigil.http.server.requests")
            .tag("method", method)
            .tag("route", route)
            .tag("status", Integer.toString(ctx.statusCode()))
            .register(metrics));
  }
}
