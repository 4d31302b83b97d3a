package io.vigil.server.events;

import io.javalin.http.Context;
import io.vigil.server.http.Api;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.time.Instant;

/** The event server's routes under {@code /api/v1/events}. */
public final class EventRoutes implements RouteModule {

  private final EventStore events;
  private final EventStream stream;

  /** The routes without the live stream (tests of ingest and query). */
  public EventRoutes(EventStore events) {
    this(events, null);
  }

  /**
   * @param stream the live stream, or null to serve no {@code /api/v1/events/stream}
   */
  public EventRoutes(EventStore events, EventStream stream) {
    this.events = events;
    this.stream = stream;
  }

  @Override
  public void register(Api api) {
    api.post(
        "/api/v1/events",
        Permission.EVENTS_WRITE,
        ctx -> {
          var drafts = Json.body(ctx, EventInput.Ingest.class).validated();
          // 201 also when every event was stored before: a retry is answered as the first post.
          ctx.status(201).json(events.ingest(Api.principal(ctx), drafts));
        });
    api.get(
        "/api/v1/events",
        Permission.EVENTS_READ,
        ctx ->
            ctx.json(
                events.query(
                    ctx.queryParam("type"),
                    ctx.queryParam("source"),
                    time(ctx, "since"),
                    time(ctx, "until"),
                    ctx.queryParam("cursor"),
                    Requests.limit(ctx))));
    if (stream != null) {
      api.get(
          "/api/v1/events/stream",
          Permission.EVENTS_READ,
          ctx -> {
            StreamFilter filter =
                StreamFilter.of(
                    ctx.queryParam("kinds"),
                    ctx.queryParams("type"),
                    ctx.queryParam("source"),
                    Api.principal(ctx).has(Permission.ALARMS_READ));
            // Browsers' EventSource sends Last-Event-ID itself when it reconnects; a client that
            // opens a new EventSource can only pass it in the query.
            String last = ctx.header("Last-Event-ID");
            StreamPosition from =
                StreamPosition.parse(
                    last == null || last.isEmpty() ? ctx.queryParam("lastEventId") : last);
            stream.open(ctx, filter, from);
          });
    }
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
