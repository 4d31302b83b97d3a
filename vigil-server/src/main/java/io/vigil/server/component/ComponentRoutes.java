package io.vigil.server.component;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.vigil.client.NewServer;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.ClientAddress;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.http.RouteModule;
import io.vigil.server.identity.RequestRate;
import io.vigil.server.security.Permission;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Registration tokens ({@code /api/v1/registration-tokens}, for administrators) and component
 * registration ({@code POST /api/v1/components/register}, which needs no bearer token: the
 * registration token in its body is the credential). Registration is rate-limited per client
 * address like the token endpoint, so that tokens cannot be guessed at speed (they are 256-bit
 * random values in any case).
 */
public final class ComponentRoutes implements RouteModule {

  /** {@code POST /api/v1/registration-tokens}; both fields optional. */
  record CreateToken(Integer expiresInSeconds, String type) {}

  /** {@code POST /api/v1/components/register}. */
  record Register(String registrationToken, NewServer server) {}

  record Page<T>(List<T> items, String nextCursor) {}

  static final String REGISTER = "/api/v1/components/register";

  private final RegistrationTokens tokens;
  private final RequestRate rate;

  public ComponentRoutes(RegistrationTokens tokens, RequestRate rate) {
    this.tokens = tokens;
    this.rate = rate;
  }

  @Override
  public void register(Api api) {
    api.post(
        "/api/v1/registration-tokens",
        Permission.USERS_WRITE,
        ctx -> {
          CreateToken body =
              ctx.bodyAsBytes().length == 0
                  ? new CreateToken(null, null)
                  : Json.body(ctx, CreateToken.class);
          RegistrationTokens.Created created =
              tokens.create(Api.principal(ctx), body.expiresInSeconds(), body.type());
          Map<String, Object> json =
              new LinkedHashMap<>(
                  Json.MAPPER.convertValue(
                      created.token(),
                      new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {}));
          json.put("registrationToken", created.registrationToken());
          ctx.status(201)
              .header("Location", "/api/v1/registration-tokens/" + created.token().id())
              .header("Cache-Control", "no-store")
              .json(json);
        });
    api.get(
        "/api/v1/registration-tokens",
        Permission.USERS_READ,
        ctx -> ctx.json(new Page<>(tokens.list(), null)));
    api.delete(
        "/api/v1/registration-tokens/{id}",
        Permission.USERS_WRITE,
        ctx -> {
          tokens.revoke(Api.principal(ctx), Requests.id(ctx, "id", "Registration token"));
          ctx.status(204);
        });
    api.open(HandlerType.POST, REGISTER, this::redeem);
  }

  private void redeem(Context ctx) {
    Optional<Duration> wait = rate.take("components/register", ClientAddress.of(ctx).address());
    if (wait.isPresent()) {
      long seconds = Math.max(1, (wait.get().toMillis() + 999) / 1000);
      ctx.header("Retry-After", Long.toString(seconds));
      throw new ApiException(
          429,
          "too_many_requests",
          "Too many registrations from this address; wait " + seconds + " seconds.");
    }
    Register body = Json.body(ctx, Register.class);
    RegistrationTokens.Registered registered =
        tokens.redeem(body.registrationToken(), body.server());
    ctx.status(201)
        .header("Location", "/api/v1/servers/" + registered.server().id())
        .header("Cache-Control", "no-store")
        .json(registered);
  }
}
