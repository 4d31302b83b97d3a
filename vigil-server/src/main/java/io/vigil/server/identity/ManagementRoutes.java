package io.vigil.server.identity;

import com.fasterxml.jackson.core.type.TypeReference;
import io.javalin.http.Context;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.Text;
import io.vigil.server.security.Permission;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code /api/v1/users} and {@code /api/v1/clients}: parse, call {@link UserService} or {@link
 * ClientService}, render. Changes to a user need its current version, from {@code If-Match:
 * "<version>"} or a {@code version} field; responses carry it as {@code ETag}.
 */
final class ManagementRoutes {

  record CreateUser(String username, String displayName, String password, List<String> roles) {}

  record PatchUser(String displayName, List<String> roles, Boolean enabled, Long version) {}

  record SetPassword(String password) {}

  record CreateClient(String clientId, String type, List<String> roles) {}

  /** A list response; users and clients are few, so there is never a next page. */
  record Page<T>(List<T> items, String nextCursor) {}

  private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

  private final UserService users;
  private final ClientService clients;

  private final LoginThrottle throttle;

  ManagementRoutes(UserService users, ClientService clients, LoginThrottle throttle) {
    this.throttle = throttle;
    this.users = users;
    this.clients = clients;
  }

  void register(Api api) {
    api.get(
        "/api/v1/users", Permission.USERS_READ, ctx -> ctx.json(new Page<>(users.list(), null)));
    api.post("/api/v1/users", Permission.USERS_WRITE, this::createUser);
    api.get(
        "/api/v1/users/{id}",
        Permission.USERS_READ,
        ctx -> user(ctx, users.find(id(ctx)).orElseThrow(() -> notFound(ctx))));
    api.patch("/api/v1/users/{id}", Permission.USERS_WRITE, this::patchUser);
    // The sign-in throttle lives in the active node's memory, and API requests reach that node.
    api.get(
        "/api/v1/users/{id}/sign-in-delays",
        Permission.USERS_READ,
        ctx -> {
          User user = users.find(id(ctx)).orElseThrow(() -> notFound(ctx));
          ctx.json(new Page<>(throttle.delayed(user.username()), null));
        });
    api.delete(
        "/api/v1/users/{id}/sign-in-delays",
        Permission.USERS_WRITE,
        ctx -> {
          User user = users.find(id(ctx)).orElseThrow(() -> notFound(ctx));
          List<LoginThrottle.Delayed> cleared = throttle.clear(user.username());
          users.recordSignInUnlock(Api.principal(ctx), user.id(), Map.of("delays", cleared));
          ctx.status(204);
        });
    api.put("/api/v1/users/{id}/password", Permission.USERS_WRITE, this::setPassword);
    api.delete(
        "/api/v1/users/{id}",
        Permission.USERS_WRITE,
        ctx -> {
          users.delete(Api.principal(ctx), id(ctx));
          ctx.status(204);
        });

    api.get(
        "/api/v1/clients",
        Permission.USERS_READ,
        ctx -> ctx.json(new Page<>(clients.list(), null)));
    api.post("/api/v1/clients", Permission.USERS_WRITE, this::createClient);
    api.get(
        "/api/v1/clients/{id}",
        Permission.USERS_READ,
        ctx ->
            ctx.json(
                clients
                    .find(ctx.pathParam("id"))
                    .orElseThrow(() -> ApiException.notFound("Client", ctx.pathParam("id")))));
    api.delete(
        "/api/v1/clients/{id}",
        Permission.USERS_WRITE,
        ctx -> {
          clients.delete(Api.principal(ctx), ctx.pathParam("id"));
          ctx.status(204);
        });
    api.post(
        "/api/v1/clients/{id}/secret",
        Permission.USERS_WRITE,
        ctx -> ctx.json(withSecret(clients.rotateSecret(Api.principal(ctx), ctx.pathParam("id")))));
  }

  private void createUser(Context ctx) {
    CreateUser body = Json.body(ctx, CreateUser.class);
    User user =
        users.create(
            Api.principal(ctx), body.username(), body.displayName(), body.password(), body.roles());
    ctx.status(201).header("Location", "/api/v1/users/" + user.id());
    user(ctx, user);
  }

  private void patchUser(Context ctx) {
    UUID id = id(ctx);
    PatchUser body = Json.body(ctx, PatchUser.class);
    long version = expectedVersion(ctx, body.version());
    User user =
        users.update(
            Api.principal(ctx),
            id,
            version,
            new UserService.Changes(body.displayName(), body.roles(), body.enabled()));
    user(ctx, user);
  }

  private void setPassword(Context ctx) {
    UUID id = id(ctx);
    SetPassword body = Json.body(ctx, SetPassword.class);
    user(ctx, users.setPassword(Api.principal(ctx), id, body.password()));
  }

  private void createClient(Context ctx) {
    CreateClient body = Json.body(ctx, CreateClient.class);
    if (body.type() != null && !OAuthClient.CONFIDENTIAL.equals(body.type())) {
      throw ApiException.badRequest(
          "invalid_client_type",
          "Only confidential clients can be registered (type \"confidential\"); the public"
              + " clients vigil-cli and vigil-console are built in.");
    }
    ClientService.WithSecret created =
        clients.create(Api.principal(ctx), body.clientId(), body.roles());
    ctx.status(201).header("Location", "/api/v1/clients/" + created.client().clientId());
    ctx.json(withSecret(created));
  }

  private static Map<String, Object> withSecret(ClientService.WithSecret created) {
    Map<String, Object> json = new LinkedHashMap<>(Json.MAPPER.convertValue(created.client(), MAP));
    json.put("clientSecret", created.clientSecret());
    return json;
  }

  private static void user(Context ctx, User user) {
    ctx.header("ETag", "\"" + user.version() + "\"").json(user);
  }

  /** The version the caller last saw, from If-Match or the body; 428 when neither is given. */
  private static long expectedVersion(Context ctx, Long bodyVersion) {
    String ifMatch = ctx.header("If-Match");
    if (ifMatch != null) {
      Long version = Requests.etagValue(ifMatch);
      if (version == null) {
        throw ApiException.badRequest(
            "invalid_if_match",
            "If-Match must be the ETag of the user, quotes included, e.g. If-Match: \"3\"; got "
                + Text.excerpt(ifMatch)
                + ".");
      }
      return version;
    }
    if (bodyVersion != null) {
      return bodyVersion;
    }
    throw new ApiException(
        428,
        "precondition_required",
        "This change needs the user's current version: send If-Match: \"<version>\" (the ETag of"
            + " GET /api/v1/users/{id}) or a \"version\" field, so concurrent edits are not lost.");
  }

  private static UUID id(Context ctx) {
    return Requests.id(ctx, "id", "User");
  }

  private static ApiException notFound(Context ctx) {
    return ApiException.notFound("User", ctx.pathParam("id"));
  }
}
