package io.vigil.server.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.vigil.server.security.Permission;
import io.vigil.server.security.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Where route modules declare their routes. A secured route names the one {@link Permission} it
 * needs; the caller was authenticated before the handler runs (every path under {@code /api} needs
 * a valid token), and a caller without the permission gets 403 before the handler runs.
 */
public final class Api {

  /** Hears of every request refused for lack of a permission, before the 403 is sent. */
  @FunctionalInterface
  public interface RefusalListener {
    void refused(Context ctx, Principal principal, Permission permission, String route);
  }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Api.class);

  private final RoutesConfig routes;
  private final List<RefusalListener> refusalListeners = new ArrayList<>();
  private final List<RouteInfo> table = new ArrayList<>();

  Api(RoutesConfig routes) {
    this.routes = routes;
  }

  /**
   * Calls {@code listener} for every request refused for lack of a permission (the audit log). A
   * listener that fails is logged and does not change the answer.
   */
  public void onPermissionRefused(RefusalListener listener) {
    refusalListeners.add(listener);
  }

  /** Runs {@code handler} after every request's handler, before the response is sent. */
  public void after(Handler handler) {
    routes.after(handler);
  }

  public void get(String path, Permission permission, Handler handler) {
    secured(HandlerType.GET, path, permission, handler);
  }

  public void post(String path, Permission permission, Handler handler) {
    secured(HandlerType.POST, path, permission, handler);
  }

  public void put(String path, Permission permission, Handler handler) {
    secured(HandlerType.PUT, path, permission, handler);
  }

  public void patch(String path, Permission permission, Handler handler) {
    secured(HandlerType.PATCH, path, permission, handler);
  }

  public void delete(String path, Permission permission, Handler handler) {
    secured(HandlerType.DELETE, path, permission, handler);
  }

  /**
   * A route for a signed-in user about its own account ({@code /api/v1/me/…}): it needs a user's
   * token, whatever its roles (none, too), and no permission; a client acting for itself gets 403.
   * Listed without a permission in the route table.
   */
  public void self(HandlerType method, String path, Handler handler) {
    table.add(new RouteInfo(method.name(), path, null));
    routes.addHttpHandler(
        method,
        path,
        ctx -> {
          ctx.attribute(HttpServer.ROUTE, path);
          Principal principal = principal(ctx);
          if (principal.actsForItself()) {
            throw ApiException.forbidden(
                "Client \""
                    + principal.clientId()
                    + "\" acts for itself; "
                    + path
                    + " is for users signed in as themselves.");
          }
          handler.handle(ctx);
        });
  }

  /** A route anyone may call: health, metrics, OIDC discovery and the token endpoint. */
  public void open(HandlerType method, String path, Handler handler) {
    table.add(new RouteInfo(method.name(), path, null));
    routes.addHttpHandler(
        method,
        path,
        ctx -> {
          ctx.attribute(HttpServer.ROUTE, path);
          handler.handle(ctx);
        });
  }

  private void secured(HandlerType method, String path, Permission permission, Handler handler) {
    Objects.requireNonNull(permission, "permission");
    table.add(new RouteInfo(method.name(), path, permission));
    routes.addHttpHandler(
        method,
        path,
        ctx -> {
          ctx.attribute(HttpServer.ROUTE, path);
          Principal principal = principal(ctx);
          if (!principal.has(permission)) {
            for (RefusalListener l : refusalListeners) {
              try {
                l.refused(ctx, principal, permission, method.name() + " " + path);
              } catch (RuntimeException e) {
                LOG.warn("Could not record a refused request to {}: {}", path, e.toString());
              }
            }
            throw ApiException.forbidden(
                "\""
                    + principal.name()
                    + "\" may not do this: it needs the "
                    + permission.name().toLowerCase(Locale.ROOT)
                    + " permission, which none of its roles "
                    + principal.roles()
                    + " grants. Ask an administrator for a role that has it.");
          }
          handler.handle(ctx);
        });
  }

  /** The authenticated caller of a request under {@code /api}. */
  public static Principal principal(Context ctx) {
    Principal principal = ctx.attribute(HttpServer.PRINCIPAL);
    if (principal == null) {
      throw ApiException.unauthorized("This request needs a bearer token.");
    }
    return principal;
  }

  List<RouteInfo> table() {
    return List.copyOf(table);
  }
}
