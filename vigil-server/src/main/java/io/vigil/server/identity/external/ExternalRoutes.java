package io.vigil.server.identity.external;

import io.javalin.http.Context;
import io.vigil.server.http.Api;
import io.vigil.server.http.Json;
import io.vigil.server.http.Requests;
import io.vigil.server.security.Permission;
import java.util.List;
import java.util.UUID;

/**
 * {@code /api/v1/identity/providers} and {@code /api/v1/identity/rules}: parse, call {@link
 * ExternalProviders}, render. A provider's ETag is its revision; a change needs it back in {@code
 * If-Match} (or, for clients that cannot set headers, a {@code revision} field). Only
 * administrators may read or change either, like users.
 */
public final class ExternalRoutes {

  record PatchProvider(
      String displayName,
      String authority,
      String clientId,
      String clientAuthentication,
      String clientSecret,
      String certificateThumbprint,
      String callbackPath,
      List<String> scopes,
      String userNameClaim,
      Boolean promptForLogin,
      Boolean enabled,
      Long revision) {}

  record CreateRule(String provider, String claim, String value, String role) {}

  /** A list response; providers and rules are few, so there is never a next page. */
  record Page<T>(List<T> items, String nextCursor) {}

  static final String PROVIDERS = "/api/v1/identity/providers";
  static final String RULES = "/api/v1/identity/rules";

  private final ExternalProviders providers;

  public ExternalRoutes(ExternalProviders providers) {
    this.providers = providers;
  }

  public void register(Api api) {
    api.get(PROVIDERS, Permission.USERS_READ, ctx -> ctx.json(new Page<>(providers.list(), null)));
    api.post(PROVIDERS, Permission.USERS_WRITE, this::create);
    api.get(
        PROVIDERS + "/{name}",
        Permission.USERS_READ,
        ctx -> render(ctx, providers.get(ctx.pathParam("name"))));
    api.patch(PROVIDERS + "/{name}", Permission.USERS_WRITE, this::patch);
    api.delete(
        PROVIDERS + "/{name}",
        Permission.USERS_WRITE,
        ctx -> {
          providers.delete(Api.principal(ctx), ctx.pathParam("name"), ctx.queryParam("confirm"));
          ctx.status(204);
        });

    api.get(
        RULES,
        Permission.USERS_READ,
        ctx -> ctx.json(new Page<>(providers.rules(ctx.queryParam("provider")), null)));
    api.post(RULES, Permission.USERS_WRITE, this::createRule);
    api.get(RULES + "/{id}", Permission.USERS_READ, ctx -> ctx.json(providers.rule(ruleId(ctx))));
    api.delete(
        RULES + "/{id}",
        Permission.USERS_WRITE,
        ctx -> {
          providers.deleteRule(Api.principal(ctx), ruleId(ctx));
          ctx.status(204);
        });
  }

  private void create(Context ctx) {
    ExternalProviders.Definition body = Json.body(ctx, ExternalProviders.Definition.class);
    ExternalProvider created = providers.create(Api.principal(ctx), body);
    ctx.status(201).header("Location", PROVIDERS + "/" + created.name());
    render(ctx, created);
  }

  private void patch(Context ctx) {
    String name = ctx.pathParam("name");
    PatchProvider body = Json.body(ctx, PatchProvider.class);
    long revision;
    if (ctx.header("If-Match") != null || body.revision() == null) {
      revision = Requests.ifMatch(ctx);
    } else {
      revision = body.revision();
    }
    ExternalProvider after =
        providers.update(
            Api.principal(ctx),
            name,
            revision,
            new ExternalProviders.Change(
                body.displayName(),
                body.authority(),
                body.clientId(),
                body.clientAuthentication(),
                body.clientSecret(),
                body.certificateThumbprint(),
                body.callbackPath(),
                body.scopes(),
                body.userNameClaim(),
                body.promptForLogin(),
                body.enabled()));
    render(ctx, after);
  }

  private void createRule(Context ctx) {
    CreateRule body = Json.body(ctx, CreateRule.class);
    ClaimRule rule =
        providers.createRule(
            Api.principal(ctx), body.provider(), body.claim(), body.value(), body.role());
    ctx.status(201).header("Location", RULES + "/" + rule.id()).json(rule);
  }

  private static void render(Context ctx, ExternalProvider provider) {
    Requests.revisionEtag(ctx, provider.revision());
    ctx.json(provider);
  }

  private static UUID ruleId(Context ctx) {
    return Requests.id(ctx, "id", "Claim rule");
  }
}
