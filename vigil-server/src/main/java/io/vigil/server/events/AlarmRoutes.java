package io.vigil.server.events;

import io.javalin.http.Context;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.time.Instant;
import java.util.UUID;

/**
 * The alarm manager's routes: {@code /api/v1/alarm-definitions} and {@code /api/v1/alarms}. Reading
 * needs {@code ALARMS_READ} (viewers and operators), defining and handling alarms {@code
 * ALARMS_WRITE} (operators); components have neither.
 */
public final class AlarmRoutes implements RouteModule {

  private final AlarmDefinitions definitions;
  private final Alarms alarms;

  public AlarmRoutes(AlarmDefinitions definitions, Alarms alarms) {
    this.definitions = definitions;
    this.alarms = alarms;
  }

  /** The list of definitions, in name order. */
  public record DefinitionList(java.util.List<AlarmDefinition> items) {}

  @Override
  public void register(Api api) {
    api.get(
        "/api/v1/alarm-definitions",
        Permission.ALARMS_READ,
        ctx -> ctx.json(new DefinitionList(definitions.list())));
    api.post(
        "/api/v1/alarm-definitions",
        Permission.ALARMS_WRITE,
        ctx -> {
          AlarmDefinition d =
              definitions.create(
                  Api.principal(ctx), Json.body(ctx, AlarmDefinitions.NewDefinition.class));
          Requests.etag(ctx, d.revision());
          ctx.status(201).header("Location", "/api/v1/alarm-definitions/" + d.id()).json(d);
        });
    api.get(
        "/api/v1/alarm-definitions/{id}",
        Permission.ALARMS_READ,
        ctx -> {
          AlarmDefinition d = definitions.get(Requests.id(ctx, "id", "Alarm definition"));
          Requests.revisionEtag(ctx, d.revision());
          ctx.json(d);
        });
    api.patch(
        "/api/v1/alarm-definitions/{id}",
        Permission.ALARMS_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Alarm definition");
          var change = Json.body(ctx, AlarmDefinitions.DefinitionChange.class);
          AlarmDefinition d =
              definitions.update(Api.principal(ctx), id, Requests.ifMatch(ctx), change);
          Requests.etag(ctx, d.revision());
          ctx.json(d);
        });
    api.delete(
        "/api/v1/alarm-definitions/{id}",
        Permission.ALARMS_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Alarm definition");
          definitions.remove(Api.principal(ctx), id, Requests.ifMatch(ctx));
          ctx.status(204);
        });

    api.get(
        "/api/v1/alarms",
        Permission.ALARMS_READ,
        ctx ->
            ctx.json(
                alarms.list(
                    new Alarms.Filter(
                        ctx.queryParam("state"),
                        priority(ctx),
                        ctx.queryParam("category"),
                        ctx.queryParam("source"),
                        ctx.queryParam("owner"),
                        time(ctx, "since"),
                        time(ctx, "until")),
                    ctx.queryParam("cursor"),
                    Requests.limit(ctx))));
    api.get(
        "/api/v1/alarms/{id}",
        Permission.ALARMS_READ,
        ctx -> {
          Alarms.Detail d = alarms.get(alarmId(ctx));
          Requests.etag(ctx, d.alarm().revision());
          ctx.json(d);
        });
    api.patch(
        "/api/v1/alarms/{id}",
        Permission.ALARMS_WRITE,
        ctx -> {
          long id = alarmId(ctx);
          var change = Json.body(ctx, Alarms.Change.class);
          Alarms.Detail d = alarms.update(Api.principal(ctx), id, Requests.ifMatch(ctx), change);
          Requests.etag(ctx, d.alarm().revision());
          ctx.json(d);
        });
    api.post(
        "/api/v1/alarms/{id}/comments",
        Permission.ALARMS_WRITE,
        ctx -> {
          long id = alarmId(ctx);
          var comment = Json.body(ctx, Alarms.NewComment.class);
          Alarms.Detail d = alarms.comment(Api.principal(ctx), id, comment);
          Requests.etag(ctx, d.alarm().revision());
          ctx.status(201).json(d);
        });
  }

  /** An alarm id: a positive decimal number; anything else names no alarm (404). */
  private static long alarmId(Context ctx) {
    String raw = ctx.pathParam("id");
    try {
      long id = Long.parseLong(raw);
      if (id > 0 && Long.toString(id).equals(raw)) {
        return id;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiException.notFound("Alarm", raw);
  }

  private static Integer priority(Context ctx) {
    String raw = ctx.queryParam("priority");
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    try {
      int p = Integer.parseInt(raw);
      if (p >= 1 && p <= AlarmDefinitions.MAX_PRIORITY && Integer.toString(p).equals(raw)) {
        return p;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiException.badRequest(
        "invalid_priority",
        "priority="
            + Text.excerpt(raw)
            + " is no priority: use a whole number from 1 to "
            + AlarmDefinitions.MAX_PRIORITY
            + ".");
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
