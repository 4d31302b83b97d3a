package io.vigil.server.management;

import io.javalin.http.Context;
import io.vigil.client.Load;
import io.vigil.client.NewServer;
import io.vigil.client.ServerConfiguration;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * The management server's routes under {@code /api/v1}: servers, hardware, cameras, site settings
 * and the audit log. Handlers parse, call a service and render; every rule lives in the services.
 */
public final class ManagementRoutes implements RouteModule {

  private final ServerRegistry servers;
  private final Devices devices;
  private final SiteSettings site;
  private final AuditLog audit;
  private final ServerConfigurations configurations;
  private final ConfigurationSignal signal;
  private final ReadCache lists;
  private final int maxWaitSeconds;
  private final Executor waiters = Executors.newVirtualThreadPerTaskExecutor();

  /** The routes with a configuration long poll that no write wakes: for tests of other routes. */
  public ManagementRoutes(
      ServerRegistry servers, Devices devices, SiteSettings site, AuditLog audit) {
    this(servers, devices, site, audit, null, new ConfigurationSignal(), MAX_WAIT_SECONDS);
  }

  /**
   * @param configurations reads servers' configurations; null reads them with the registry's fence
   * @param signal the signal the registry and devices given here bump on every change
   * @param maxWaitSeconds the longest long poll of a configuration, below the HTTP idle timeout
   */
  public ManagementRoutes(
      ServerRegistry servers,
      Devices devices,
      SiteSettings site,
      AuditLog audit,
      ServerConfigurations configurations,
      ConfigurationSignal signal,
      int maxWaitSeconds) {
    this.servers = servers;
    this.devices = devices;
    this.site = site;
    this.audit = audit;
    this.configurations =
        configurations != null ? configurations : new ServerConfigurations(servers.fence());
    this.signal = signal;
    this.lists = new ReadCache(servers.fence());
    this.maxWaitSeconds = Math.max(1, Math.min(MAX_WAIT_SECONDS, maxWaitSeconds));
  }

  /** The longest {@code wait} a configuration request may ask for. */
  public static final int MAX_WAIT_SECONDS = 60;

  /** Below this much of its wait left, a poll answers rather than waits again. */
  private static final Duration MIN_REWAIT = Duration.ofMillis(20);

  @Override
  public void register(Api api) {
    api.get(
        "/api/v1/servers",
        Permission.SERVERS_READ,
        ctx -> {
          String type = ctx.queryParam("type");
          String cursor = ctx.queryParam("cursor");
          int limit = Requests.limit(ctx);
          if (cursor == null) {
            // A first page, the one asked for again and again: kept until a write (ReadCache).
            lists
                .get("servers " + limit + " " + type, () -> servers.list(type, null, limit))
                .send(ctx);
          } else {
            ctx.json(servers.list(type, cursor, limit));
          }
        });
    api.post(
        "/api/v1/servers",
        Permission.SERVERS_WRITE,
        ctx -> {
          Server s = servers.register(Api.principal(ctx), Json.body(ctx, NewServer.class));
          created(ctx, "/api/v1/servers/" + s.id(), s.revision()).json(s);
        });
    api.get(
        "/api/v1/servers/{id}",
        Permission.SERVERS_READ,
        ctx -> {
          Server s = servers.get(Requests.id(ctx, "id", "Server"));
          Requests.etag(ctx, s.revision());
          ctx.json(s);
        });
    api.patch(
        "/api/v1/servers/{id}",
        Permission.SERVERS_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Server");
          var change = Json.body(ctx, ServerRegistry.Change.class);
          Server s = servers.update(Api.principal(ctx), id, Requests.ifMatch(ctx), change);
          Requests.etag(ctx, s.revision());
          ctx.json(s);
        });
    api.delete(
        "/api/v1/servers/{id}",
        Permission.SERVERS_WRITE,
        ctx -> {
          servers.unregister(
              Api.principal(ctx), Requests.id(ctx, "id", "Server"), optionalIfMatch(ctx));
          ctx.status(204);
        });
    api.post(
        "/api/v1/servers/{id}/heartbeat",
        Permission.SERVERS_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Server");
          // The load figures are optional: a heartbeat may have no body at all.
          Load load = ctx.bodyAsBytes().length == 0 ? null : Json.body(ctx, Load.class);
          // Answered when the heartbeat's batch committed; no request thread waits for it.
          var beat = servers.heartbeat(Api.principal(ctx), id, load);
          ctx.future(() -> beat.thenAccept(ctx::json));
        });

    api.get("/api/v1/servers/{id}/configuration", Permission.SERVERS_READ, this::configuration);

    api.get(
        "/api/v1/hardware",
        Permission.CONFIG_READ,
        ctx ->
            ctx.json(
                devices.listHardware(
                    uuidQuery(ctx, "recordingServerId"),
                    ctx.queryParam("cursor"),
                    Requests.limit(ctx))));
    api.post(
        "/api/v1/hardware",
        Permission.CONFIG_WRITE,
        ctx -> {
          Hardware hw =
              devices.addHardware(Api.principal(ctx), Json.body(ctx, Devices.NewHardware.class));
          created(ctx, "/api/v1/hardware/" + hw.id(), hw.revision()).json(hw);
        });
    api.get(
        "/api/v1/hardware/{id}",
        Permission.CONFIG_READ,
        ctx -> {
          Hardware hw = devices.getHardware(Requests.id(ctx, "id", "Hardware"));
          Requests.revisionEtag(ctx, hw.revision());
          ctx.json(hw);
        });
    api.patch(
        "/api/v1/hardware/{id}",
        Permission.CONFIG_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Hardware");
          var change = Json.body(ctx, Devices.HardwareChange.class);
          Hardware hw =
              devices.updateHardware(Api.principal(ctx), id, Requests.ifMatch(ctx), change);
          Requests.revisionEtag(ctx, hw.revision());
          ctx.json(hw);
        });
    api.delete(
        "/api/v1/hardware/{id}",
        Permission.CONFIG_WRITE,
        ctx -> {
          devices.removeHardware(
              Api.principal(ctx), Requests.id(ctx, "id", "Hardware"), optionalIfMatch(ctx));
          ctx.status(204);
        });

    api.get(
        "/api/v1/cameras",
        Permission.CONFIG_READ,
        ctx ->
            ctx.json(
                devices.listCameras(
                    uuidQuery(ctx, "hardwareId"),
                    uuidQuery(ctx, "recordingServerId"),
                    ctx.queryParam("cursor"),
                    Requests.limit(ctx))));
    api.post(
        "/api/v1/cameras",
        Permission.CONFIG_WRITE,
        ctx -> {
          Camera c = devices.addCamera(Api.principal(ctx), Json.body(ctx, Devices.NewCamera.class));
          created(ctx, "/api/v1/cameras/" + c.id(), c.revision()).json(c);
        });
    api.get(
        "/api/v1/cameras/{id}",
        Permission.CONFIG_READ,
        ctx -> {
          Camera c = devices.getCamera(Requests.id(ctx, "id", "Camera"));
          Requests.revisionEtag(ctx, c.revision());
          ctx.json(c);
        });
    api.patch(
        "/api/v1/cameras/{id}",
        Permission.CONFIG_WRITE,
        ctx -> {
          UUID id = Requests.id(ctx, "id", "Camera");
          var change = Json.body(ctx, Devices.CameraChange.class);
          Camera c = devices.updateCamera(Api.principal(ctx), id, Requests.ifMatch(ctx), change);
          Requests.revisionEtag(ctx, c.revision());
          ctx.json(c);
        });
    api.delete(
        "/api/v1/cameras/{id}",
        Permission.CONFIG_WRITE,
        ctx -> {
          devices.removeCamera(
              Api.principal(ctx), Requests.id(ctx, "id", "Camera"), optionalIfMatch(ctx));
          ctx.status(204);
        });

    api.get(
        "/api/v1/site",
        Permission.SETTINGS_READ,
        ctx -> {
          var s = site.get();
          Requests.revisionEtag(ctx, s.revision());
          ctx.json(s);
        });
    api.patch(
        "/api/v1/site",
        Permission.SETTINGS_WRITE,
        ctx -> {
          var change = Json.body(ctx, SiteSettings.Change.class);
          var s = site.update(Api.principal(ctx), Requests.ifMatch(ctx), change);
          Requests.etag(ctx, s.revision());
          ctx.json(s);
        });

    api.get(
        "/api/v1/audit",
        Permission.AUDIT_READ,
        ctx -> {
          ctx.json(
              audit.query(
                  longQuery(ctx, "cursor"),
                  ctx.queryParam("objectType"),
                  ctx.queryParam("objectId"),
                  Requests.limit(ctx)));
        });
  }

  /**
   * A server's configuration with its ETag. With {@code If-None-Match} equal to the current ETag it
   * is 304, at once, or with {@code wait=SECONDS} (up to {@link #MAX_WAIT_SECONDS}, capped below
   * the HTTP idle timeout) after waiting that long for a change: the wait holds no thread and reads
   * the database only when {@link ConfigurationSignal} says the server, its hardware or its cameras
   * changed. A different ETag answers 200 at once. When this node knows the ETag asked about is
   * still current ({@link ConfigurationSignal#knownEtag}) it reads nothing, neither when the poll
   * arrives nor when its wait ends, so a quiet component's poll costs no query.
   */
  private void configuration(Context ctx) {
    UUID id = Requests.id(ctx, "id", "Server");
    Duration wait = waitParameter(ctx);
    String seen = Requests.ifNoneMatch(ctx);
    CompletableFuture<Boolean> change =
        seen == null || wait.isZero() ? null : signal.await(id, wait);
    if (seen == null || !seen.equals(signal.knownEtag(id))) {
      ServerConfiguration c;
      try {
        c = read(id);
      } catch (RuntimeException e) {
        cancel(change);
        throw e;
      }
      if (change == null || !c.etag().equals(seen)) {
        cancel(change);
        answer(ctx, c, seen);
        return;
      }
    } else if (change == null) {
      // This node knows the ETag asked about is current: no query.
      notModified(ctx, seen);
      return;
    }
    long deadline = System.nanoTime() + wait.toNanos();
    ctx.future(() -> waitForChange(ctx, id, seen, change, deadline));
  }

  /** Reads the configuration and remembers its ETag for the polls that follow. */
  private ServerConfiguration read(UUID id) {
    long generation = signal.generation(id);
    ServerConfiguration c = configurations.read(id);
    signal.remember(id, generation, c.etag());
    return c;
  }

  private CompletableFuture<Void> waitForChange(
      Context ctx, UUID id, String seen, CompletableFuture<Boolean> change, long deadline) {
    return change.thenComposeAsync(
        changed -> {
          long left = deadline - System.nanoTime();
          CompletableFuture<Boolean> next =
              left > MIN_REWAIT.toNanos() ? signal.await(id, Duration.ofNanos(left)) : null;
          if (seen.equals(signal.knownEtag(id))) {
            // Nothing changed since this node last read it: no query, wait on or answer 304.
            if (next == null) {
              notModified(ctx, seen);
              return CompletableFuture.completedFuture(null);
            }
            return waitForChange(ctx, id, seen, next, deadline);
          }
          ServerConfiguration c;
          try {
            c = read(id);
          } catch (RuntimeException e) {
            cancel(next);
            throw e;
          }
          if (next == null || !c.etag().equals(seen)) {
            cancel(next);
            answer(ctx, c, seen);
            return CompletableFuture.completedFuture(null);
          }
          return waitForChange(ctx, id, seen, next, deadline);
        },
        waiters);
  }

  private static void cancel(CompletableFuture<Boolean> change) {
    if (change != null) {
      change.complete(false);
    }
  }

  private static void notModified(Context ctx, String etag) {
    ctx.header("ETag", etag);
    ctx.header("Cache-Control", "no-cache");
    ctx.status(304);
  }

  private static void answer(Context ctx, ServerConfiguration c, String seen) {
    ctx.header("ETag", c.etag());
    ctx.header("Cache-Control", "no-cache");
    if (c.etag().equals(seen)) {
      ctx.status(304);
    } else {
      ctx.json(c);
    }
  }

  private Duration waitParameter(Context ctx) {
    String raw = ctx.queryParam("wait");
    if (raw == null || raw.isEmpty()) {
      return Duration.ZERO;
    }
    int seconds;
    try {
      seconds = Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      seconds = -1;
    }
    if (seconds < 0 || seconds > MAX_WAIT_SECONDS) {
      throw ApiException.badRequest(
          "invalid_wait",
          "wait="
              + Text.excerpt(raw)
              + " is not valid: give the seconds to wait for a change, 0 to "
              + MAX_WAIT_SECONDS
              + ".");
    }
    return Duration.ofSeconds(Math.min(seconds, maxWaitSeconds));
  }

  private static Context created(Context ctx, String location, long revision) {
    Requests.etag(ctx, revision);
    return ctx.status(201).header("Location", location);
  }

  /** Deletes may name the revision they expect; without one they delete whatever is there. */
  private static Long optionalIfMatch(Context ctx) {
    return ctx.header("If-Match") == null ? null : Requests.ifMatch(ctx);
  }

  private static UUID uuidQuery(Context ctx, String name) {
    String raw = ctx.queryParam(name);
    if (raw == null) {
      return null;
    }
    try {
      return UUID.fromString(raw);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(
          "invalid_id", name + "=" + Text.excerpt(raw) + " is not an id (a UUID).");
    }
  }

  private static Long longQuery(Context ctx, String name) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    try {
      long value = Long.parseLong(raw);
      if (value < 1 || !Long.toString(value).equals(raw)) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(
          "invalid_cursor",
          name
              + "="
              + Text.excerpt(raw)
              + " is not a cursor this API issued; start again without it.");
    }
  }
}
