package io.vigil.server.cluster;

import io.javalin.http.Context;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The cluster's routes under {@code /api/v1/cluster}: reading needs {@code CLUSTER_READ}, every
 * change {@code CLUSTER_WRITE}, and the caller's name is passed to the {@link ClusterService} as
 * the one who asked.
 *
 * <pre>
 * GET    /api/v1/cluster                           200 ClusterStatus
 * GET    /api/v1/cluster/history?limit=N           200 {"items": [HistoryEntry], "nextCursor": null}
 * GET    /api/v1/cluster/validation                200 {"items": [NodeValidation], "nextCursor": null}
 * PUT    /api/v1/cluster/maintenance               {"enabled": true|false}              204
 * POST   /api/v1/cluster/move                      {"to": "node-2"|null} or {} or none  202
 * POST   /api/v1/cluster/nodes/{name}/pause|resume|drain                               202
 * GET    /api/v1/cluster/resources                 200 {"items": [ResourceStatus], "nextCursor": null}
 * POST   /api/v1/cluster/resources                 {@link ResourceBody}                 201
 * DELETE /api/v1/cluster/resources/{name}                                             204
 * POST   /api/v1/cluster/resources/{name}/start|stop                                  202
 * POST   /api/v1/cluster/reset                                                        204
 * </pre>
 *
 * <p>A 202 means the request was recorded, not that it has taken effect: the owner's failover
 * controller acts on it within one poll interval (see {@link ClusterService}). Every request is
 * checked completely before the service is called, so bad input changes nothing; errors the service
 * raises ({@link ClusterException}) keep their status and code.
 */
public final class ClusterRoutes implements RouteModule {

  /** What a node name in a path or body may look like; anything else cannot name a node. */
  public static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  /**
   * What a resource name in a path may look like: the built-in resources and every name {@link
   * GenericResource#validate} accepts.
   */
  public static final Pattern RESOURCE_NAME = Pattern.compile("[a-z][a-z0-9-]{0,62}");

  /** Entries of the history returned when no {@code limit} is given. */
  static final int DEFAULT_HISTORY_LIMIT = 50;

  private static final String BASE = "/api/v1/cluster";

  private final ClusterService service;

  public ClusterRoutes(ClusterService service) {
    this.service = service;
  }

  @Override
  public void register(Api api) {
    api.get(BASE, Permission.CLUSTER_READ, ctx -> ctx.json(status(ctx)));
    api.get(
        BASE + "/history",
        Permission.CLUSTER_READ,
        ctx -> {
          List<ClusterService.HistoryEntry> history =
              service.history(Requests.limit(ctx, DEFAULT_HISTORY_LIMIT));
          ctx.json(
              new ListBody<>(
                  mayChange(ctx)
                      ? history
                      : history.stream()
                          .map(ClusterService.HistoryEntry::withCommandOutputHidden)
                          .toList(),
                  null));
        });
    api.get(
        BASE + "/validation",
        Permission.CLUSTER_READ,
        ctx -> ctx.json(new ListBody<>(service.validate(), null)));
    api.put(
        BASE + "/maintenance",
        Permission.CLUSTER_WRITE,
        ctx -> {
          Maintenance body = Json.body(ctx, Maintenance.class);
          service.maintenance(body.enabled(), by(ctx));
          ctx.status(204);
        });
    api.post(
        BASE + "/move",
        Permission.CLUSTER_WRITE,
        ctx -> {
          // No body at all is the same as {}: "move the role to any other node".
          Move body = ctx.bodyAsBytes().length == 0 ? new Move(null) : Json.body(ctx, Move.class);
          service.move(body.to(), by(ctx));
          accepted(ctx, "to", body.to());
        });
    api.post(
        BASE + "/nodes/{name}/pause",
        Permission.CLUSTER_WRITE,
        ctx -> {
          String node = node(ctx);
          service.pauseNode(node, by(ctx));
          accepted(ctx, "node", node);
        });
    api.post(
        BASE + "/nodes/{name}/resume",
        Permission.CLUSTER_WRITE,
        ctx -> {
          String node = node(ctx);
          service.resumeNode(node, by(ctx));
          accepted(ctx, "node", node);
        });
    api.post(
        BASE + "/nodes/{name}/drain",
        Permission.CLUSTER_WRITE,
        ctx -> {
          String node = node(ctx);
          service.drainNode(node, by(ctx));
          accepted(ctx, "node", node);
        });
    api.get(
        BASE + "/resources",
        Permission.CLUSTER_READ,
        ctx -> ctx.json(new ListBody<>(status(ctx).resources(), null)));
    api.post(
        BASE + "/resources",
        Permission.CLUSTER_WRITE,
        ctx -> {
          GenericResource.Definition definition = Json.body(ctx, ResourceBody.class).definition();
          service.addResource(definition, by(ctx));
          ctx.status(201).json(ResourceBody.of(definition));
        });
    api.delete(
        BASE + "/resources/{name}",
        Permission.CLUSTER_WRITE,
        ctx -> {
          service.removeResource(resource(ctx), by(ctx));
          ctx.status(204);
        });
    api.post(
        BASE + "/resources/{name}/start",
        Permission.CLUSTER_WRITE,
        ctx -> {
          String resource = resource(ctx);
          service.startResource(resource, by(ctx));
          accepted(ctx, "resource", resource);
        });
    api.post(
        BASE + "/resources/{name}/stop",
        Permission.CLUSTER_WRITE,
        ctx -> {
          String resource = resource(ctx);
          service.stopResource(resource, by(ctx));
          accepted(ctx, "resource", resource);
        });
    api.post(
        BASE + "/reset",
        Permission.CLUSTER_WRITE,
        ctx -> {
          service.resetRole(by(ctx));
          ctx.status(204);
        });
  }

  /**
   * The cluster's status as the caller may see it: commands' output can hold whatever a command
   * printed, secrets among it, so only callers who may change the cluster see it.
   */
  private ClusterService.ClusterStatus status(Context ctx) {
    ClusterService.ClusterStatus status = service.status();
    return mayChange(ctx) ? status : status.withCommandOutputHidden();
  }

  private static boolean mayChange(Context ctx) {
    return Api.principal(ctx).has(Permission.CLUSTER_WRITE);
  }

  private static String by(Context ctx) {
    return Api.principal(ctx).name();
  }

  /** 202 {@code {"status": "requested", <key>: <value>}}; the value may be null (any node). */
  private static void accepted(Context ctx, String key, String value) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", "requested");
    body.put(key, value);
    ctx.status(202).json(body);
  }

  private static String node(Context ctx) {
    String name = ctx.pathParam("name");
    if (!NODE_NAME.matcher(name).matches()) {
      throw ApiException.notFound("Node", name);
    }
    return name;
  }

  private static String resource(Context ctx) {
    String name = ctx.pathParam("name");
    if (!RESOURCE_NAME.matcher(name).matches()) {
      throw ApiException.notFound("Resource", name);
    }
    return name;
  }

  /** A list in the API's usual shape; the cluster's lists are short and come in one page. */
  record ListBody<T>(List<T> items, String nextCursor) {}

  /** The body of {@code PUT /maintenance}. */
  record Maintenance(Boolean enabled) {
    Maintenance {
      if (enabled == null) {
        throw ApiException.badRequest(
            "missing_field",
            "Field \"enabled\" is required: send {\"enabled\": true} to turn maintenance on, or"
                + " {\"enabled\": false} to turn it off.");
      }
    }
  }

  /** The body of {@code POST /move}: the target node, or null for the most preferred other one. */
  record Move(String to) {
    Move {
      if (to != null && !NODE_NAME.matcher(to).matches()) {
        throw ApiException.badRequest(
            "invalid_node_name",
            "Field \"to\" is \""
                + Text.excerpt(to)
                + "\", which is not a node name: give a name from GET /api/v1/cluster, or leave"
                + " \"to\" out to move the role to any other node.");
      }
    }
  }

  /**
   * A generic resource as operators send it and as the API echoes it back with the defaults of
   * {@link ResourcePolicy#DEFAULT} filled in. Durations are whole milliseconds; {@code check} and
   * {@code dependsOn} are optional (no health check, no dependencies).
   */
  public record ResourceBody(
      String name,
      String start,
      String stop,
      String check,
      List<String> dependsOn,
      Long checkIntervalMs,
      Long checkTimeoutMs,
      Integer restartLimit,
      Long restartPeriodMs,
      Long startTimeoutMs,
      Long stopTimeoutMs) {

    static ResourceBody of(GenericResource.Definition d) {
      ResourcePolicy p = d.policy();
      return new ResourceBody(
          d.name(),
          d.startCommand(),
          d.stopCommand(),
          d.checkCommand(),
          d.dependsOn(),
          p.checkInterval().toMillis(),
          p.checkTimeout().toMillis(),
          p.restartLimit(),
          p.restartPeriod().toMillis(),
          p.startTimeout().toMillis(),
          p.stopTimeout().toMillis());
    }

    /**
     * The definition this body asks for, checked as {@link GenericResource#validate} checks it.
     *
     * @throws ApiException 400 {@code invalid_resource} naming the field and the fix
     */
    GenericResource.Definition definition() {
      ResourcePolicy defaults = ResourcePolicy.DEFAULT;
      String label = name == null ? "the generic resource" : "generic resource " + name;
      ResourcePolicy policy =
          new ResourcePolicy(
              duration(label, "checkIntervalMs", checkIntervalMs, defaults.checkInterval()),
              duration(label, "checkTimeoutMs", checkTimeoutMs, defaults.checkTimeout()),
              restartLimit(label),
              duration(label, "restartPeriodMs", restartPeriodMs, defaults.restartPeriod()),
              duration(label, "startTimeoutMs", startTimeoutMs, defaults.startTimeout()),
              duration(label, "stopTimeoutMs", stopTimeoutMs, defaults.stopTimeout()));
      GenericResource.Definition definition =
          new GenericResource.Definition(
              name, start, stop, check, dependsOn == null ? List.of() : dependsOn, policy);
      try {
        GenericResource.validate(definition);
      } catch (IllegalArgumentException e) {
        throw ApiException.badRequest("invalid_resource", e.getMessage());
      }
      return definition;
    }

    private int restartLimit(String label) {
      if (restartLimit == null) {
        return ResourcePolicy.DEFAULT.restartLimit();
      }
      if (restartLimit < 0) {
        throw ApiException.badRequest(
            "invalid_resource",
            "restartLimit of "
                + label
                + " is "
                + restartLimit
                + ": give 0 (fail over at the first failure) or more restarts in place.");
      }
      return restartLimit;
    }

    private static Duration duration(String label, String field, Long millis, Duration fallback) {
      if (millis == null) {
        return fallback;
      }
      if (millis <= 0) {
        throw ApiException.badRequest(
            "invalid_resource",
            field
                + " of "
                + label
                + " is "
                + millis
                + ": give a positive number of milliseconds, e.g. "
                + fallback.toMillis()
                + ", or leave it out for the default.");
      }
      return Duration.ofMillis(millis);
    }
  }
}
