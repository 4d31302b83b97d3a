package io.vigil.server.http;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.Settings;
import io.vigil.server.db.DatabaseUnavailable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
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
 */
public final class HttpServer implements AutoCloseable {

  static final String PRINCIPAL = "vigil.principal";
  static final String ROUTE = "vigil.route";
  private static final String TIMER = "vigil.timer";
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  /** One year, the value browsers' preload lists ask for. */
  static final String HSTS = "max-age=31536000";

  private final Javalin app;
  private final List<RouteInfo> routes;
  private final ServerTls tls;
  private final String host;
  private final HttpClient probe;

  private HttpServer(Javalin app, List<RouteInfo> routes, ServerTls tls, String host) {
    this.app = app;
    this.routes = routes;
    this.tls = tls;
    this.host = host;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1));
    if (tls != null) {
      b.sslContext(tls.selfTrust());
    }
    this.probe = b.build();
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
    Javalin app =
        Javalin.create(
            config -> {
              config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
              config.http.maxRequestSize = maxBody;
              config.http.defaultContentType = "application/json";
              config.startup.showJavalinBanner = false;
              config.jetty.host = settings.http.host;
              config.jetty.port = settings.http.port;
              config.jetty.modifyServer(server -> server.setStopTimeout(2_000));
              if (tls != null) {
                config.jetty.addConnector(
                    (server, httpConfig) -> httpsConnector(server, httpConfig, tls, settings));
              }

              var r = config.routes;
              r.before(
                  ctx -> {
                    ctx.attribute(TIMER, Timer.start(metrics));
                    ClientAddress client = ClientAddress.resolve(proxies, ctx);
                    ctx.attribute(ClientAddress.ATTRIBUTE, client);
                    if (client.secure()) {
                      ctx.header("Strict-Transport-Security", HSTS);
                    }
                    ctx.header("X-Content-Type-Options", "nosniff");
                    ctx.header("Cache-Control", "no-store");
                    String length = ctx.header("Content-Length");
                    if (length != null && parseLong(length) > maxBody) {
                      throw new ApiException(
                          413,
                          "payload_too_large",
                          "The request body is larger than the limit of "
                              + maxBody
                              + " bytes (Http.MaxRequestBytes).");
                    }
                    gate.handle(ctx);
                  });
              r.before(
                  "/api/*",
                  ctx -> {
                    if (ctx.method() == HandlerType.OPTIONS) {
                      return;
                    }
                    ctx.attribute(PRINCIPAL, authenticator.authenticate(bearer(ctx)));
                  });
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
    return new HttpServer(app, api[0].table(), tls, settings.http.host);
  }

  /**
   * A TLS connector: Jetty's SSL connection factory in front of HTTP/1.1, on the configured host
   * and port.
   */
  private static ServerConnector httpsConnector(
      Server server, HttpConfiguration httpConfig, ServerTls tls, Settings settings) {
    // The SNI host check would answer 400 to a client that reaches the node by a name or address
    // the certificate does not list, such as a load balancer's health check by IP; clients verify
    // the host name against the certificate themselves.
    SecureRequestCustomizer secure = new SecureRequestCustomizer();
    secure.setSniHostCheck(false);
    secure.setSniRequired(false);
    httpConfig.addCustomizer(secure);
    httpConfig.setSecureScheme("https");
    ServerConnector connector =
        new ServerConnector(
            server,
            new SslConnectionFactory(tls.factory(), HttpVersion.HTTP_1_1.asString()),
            new HttpConnectionFactory(httpConfig));
    connector.setHost(settings.http.host);
    connector.setPort(settings.http.port);
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
   * Asks the server itself whether it is alive ({@code GET /health/live} through its own listener,
   * over TLS when it serves TLS).
   *
   * @return null when alive, else what is wrong
   */
  public String checkLive() throws IOException, InterruptedException {
    HttpResponse<Void> r =
        probe.send(
            HttpRequest.newBuilder(URI.create(localUrl() + "/health/live"))
                .timeout(Duration.ofSeconds(1))
                .build(),
            HttpResponse.BodyHandlers.discarding());
    return r.statusCode() == 200
        ? null
        : "the node's HTTP server answered " + r.statusCode() + " to /health/live";
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

  private static long parseLong(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String codeFor(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 409 -> "conflict";
      case 413 -> "payload_too_large";
      case 415 -> "unsupported_media_type";
      default -> status >= 500 ? "internal_error" : "error";
    };
  }

  private static void record(PrometheusMeterRegistry metrics, Context ctx) {
    Timer.Sample sample = ctx.attribute(TIMER);
    if (sample == null) {
      return;
    }
    String route = ctx.attribute(ROUTE);
    if (route == null) {
      route = "unmatched";
    }
    sample.stop(
        Timer.builder("vigil.http.server.requests")
            .tag("method", ctx.method().name())
            .tag("route", route)
            .tag("status", Integer.toString(ctx.statusCode()))
            .register(metrics));
  }
}
