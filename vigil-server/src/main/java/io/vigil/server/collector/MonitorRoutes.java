package io.vigil.server.collector;

import io.javalin.http.Context;
import io.vigil.server.events.EventInput;
import io.vigil.server.http.Api;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.time.Instant;
import java.util.UUID;

/**
 * The system monitor's routes: {@code /api/v1/monitor} (every server's state, worst first), a
 * server's history, and the thresholds per server type and per server. Reading needs {@code
 * MONITOR_READ} (viewers, operators), changing thresholds {@code MONITOR_WRITE} (operators);
 * components have neither.
 */
public final class MonitorRoutes implements RouteModule {

  private final SystemMonitor monitor;

  public MonitorRoutes(SystemMonitor monitor) {
    this.monitor = monitor;
  }

  @Override
  public void register(Api api) {
    api.get(
        "/api/v1/monitor",
        Permission.MONITOR_READ,
        ctx -> ctx.json(monitor.overview(ctx.queryParam("cursor"), Requests.limit(ctx))));
    api.get(
        "/api/v1/monitor/{id}/history",
        Permission.MONITOR_READ,
        ctx ->
            ctx.json(
                monitor.history(
                    Requests.id(ctx, "id", "Server"),
                    ctx.queryParam("figure"),
                    time(ctx, "since"),
                    time(ctx, "until"))));
    api.get(
        "/api/v1/monitor/thresholds",
        Permission.MONITOR_READ,
        ctx -> {
          SystemMonitor.TypeThresholds t = monitor.typeThresholds();
          if (t.revision() > 0) {
            // Nothing else moves the type thresholds: the revision names the whole answer.
            Requests.revisionEtag(ctx, t.revision());
          }
          ctx.json(t);
        });
    api.put(
        "/api/v1/monitor/thresholds",
        Permission.MONITOR_WRITE,
        ctx -> {
          var in = Json.body(ctx, SystemMonitor.TypeThresholdsInput.class);
          SystemMonitor.TypeThresholds t =
              monitor.putTypeThresholds(Api.principal(ctx), ifMatch(ctx), in);
          etag(ctx, t.revision());
          ctx.json(t);
        });
    api.get(
        "/api/v1/monitor/thresholds/servers/{id}",
        Permission.MONITOR_READ,
        ctx -> {
          SystemMonitor.ServerThresholds t =
              monitor.serverThresholds(Requests.id(ctx, "id", "Server"));
          etag(ctx, t.revision());
          ctx.json(t);
        });
    api.put(
        "/api/v1/monitor/thresholds/servers/{id}",
        Permission.MONITOR_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Server");
          var in = Json.body(ctx, SystemMonitor.ServerThresholdsInput.class);
          SystemMonitor.ServerThresholds t =
              monitor.putServerThresholds(Api.principal(ctx), id, ifMatch(ctx), in);
          etag(ctx, t.revision());
          ctx.json(t);
        });
    api.delete(
        "/api/v1/monitor/thresholds/servers/{id}",
        Permission.MONITOR_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Server");
          monitor.removeServerThresholds(Api.principal(ctx), id, Requests.ifMatch(ctx));
          ctx.status(204);
        });
  }

  /** Revision 0 (nothing replaced yet) has no ETag. */
  private static void etag(Context ctx, long revision) {
    if (revision > 0) {
      Requests.etag(ctx, revision);
    }
  }

  /** The If-Match revision, or 0 without one: a first override needs none. */
  private static long ifMatch(Context ctx) {
    String header = ctx.header("If-Match");
    return header == null || header.isBlank() ? 0 : Requests.ifMatch(ctx);
  }

  private static Instant time(Context ctx, String name) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    return EventInput.parseTime(raw)
        .orElseThrow(() -> EventInput.invalidTime(name + "=" + Text.excerpt(raw)));
  }
}
