package io.vigil.server.testing;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.Settings;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.HttpServer;
import io.vigil.server.http.RouteModule;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * API routes over real HTTP on a free loopback port, with bearer tokens mapped to callers by a
 * fixed table instead of a real identity provider: for the contract tests of the API's areas.
 */
public final class TestApiServer {

  private TestApiServer() {}

  /** Serves {@code routes}; a token not in {@code callers} is 401. */
  public static HttpServer start(
      Map<String, Principal> callers, long maxRequestBytes, List<RouteModule> routes) {
    Settings settings = new Settings();
    settings.http.host = "127.0.0.1";
    settings.http.port = 0;
    settings.http.maxRequestBytes = maxRequestBytes;
    return HttpServer.start(
        settings,
        token -> {
          Principal p = callers.get(token);
          if (p == null) {
            throw ApiException.unauthorized("unknown test token");
          }
          return p;
        },
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        () -> true,
        routes);
  }

  /** A user signed in with the CLI. */
  public static Principal user(String name, Role role) {
    return new Principal("id-" + name, name, "vigil-cli", Set.of(role), Set.of("vigil.api"));
  }

  /** A component's client acting for itself: its subject is its client id. */
  public static Principal component(String clientId) {
    return new Principal(clientId, clientId, clientId, Set.of(Role.COMPONENT), Set.of("vigil.api"));
  }
}
