package io.vigil.server.identity;

import com.nimbusds.common.contenttype.ContentType;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationErrorResponse;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.AuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.ClientCredentialsGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResourceOwnerPasswordCredentialsGrant;
import com.nimbusds.oauth2.sdk.ResponseMode;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenRevocationRequest;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationRequest;
import com.nimbusds.oauth2.sdk.device.DeviceAuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.device.DeviceCode;
import com.nimbusds.oauth2.sdk.device.DeviceCodeGrant;
import com.nimbusds.oauth2.sdk.device.UserCode;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.token.BearerAccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.SiteEvents;
import io.vigil.server.http.Api;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.ClientAddress;
import io.vigil.server.http.Text;
import io.vigil.server.identity.external.ExternalProvider;
import io.vigil.server.identity.external.ExternalSignIn;
import io.vigil.server.identity.external.SignInFailure;
import io.vigil.server.security.Principal;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * The OpenID Connect endpoints under {@code /idp}: discovery, JWKS, token, authorize (an HTML
 * sign-in page), userinfo and revocation. Protocol messages are parsed and written with the Nimbus
 * SDK; token endpoint errors are OAuth JSON ({@code error}, {@code error_description}).
 *
 * <p>Scopes: {@code openid profile vigil.api offline_access}. When a user grant asks for none, the
 * client gets all four. A refresh token is issued exactly when the granted scope contains {@code
 * offline_access}, so the built-in CLI and console get one by default and can opt out; client
 * credentials never get one (RFC 6749 §4.4.3) and are limited to {@code vigil.api}.
 */
final class IdpEndpoints {

  static final List<String> USER_SCOPES =
      List.of("openid", "profile", "vigil.api", "offline_access");
  static final String API_SCOPE = "vigil.api";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IdpEndpoints.class);

  private final String issuer;
  private final SigningKeys keys;
  private final TokenSigner signer;
  private final TokenVerifier verifier;
  private final UserService users;
  private final ClientService clients;
  private final AuthorizationCodes codes;
  private final RefreshTokens refreshTokens;
  private final LoginThrottle throttle;
  private final PasswordChecks passwordChecks;
  private final RequestRate requestRate;
  private final PasswordHasher hasher;
  private final Clock clock;
  private final Duration refreshLifetime;
  private final ExternalSignIn external;
  private final DeviceAuthorizations devices;
  private final Fence fence;
  private final MfaService mfa;
  private final MfaSignInStates mfaStates;

  /** Where the {@value #SIGNIN_FAILURES} event of a lockout goes. */
  private final SiteEvents siteEvents;

  /** This node's name: the source of its sign-in events ({@code node:<name>}). */
  private final String node;

  /** The site event a sign-in lockout raises, with the audit entry. */
  static final String SIGNIN_FAILURES = "signin.failures";

  IdpEndpoints(
      String issuer,
      SigningKeys keys,
      TokenSigner signer,
      TokenVerifier verifier,
      UserService users,
      ClientService clients,
      AuthorizationCodes codes,
      RefreshTokens refreshTokens,
      LoginThrottle throttle,
      PasswordChecks passwordChecks,
      RequestRate requestRate,
      PasswordHasher hasher,
      Clock clock,
      Duration refreshLifetime,
      ExternalSignIn external,
      DeviceAuthorizations devices,
      Fence fence,
      MfaService mfa,
      MfaSignInStates mfaStates,
      SiteEvents siteEvents,
      String node) {
    this.siteEvents = siteEvents;
    this.node = node;
    this.issuer = issuer;
    this.keys = keys;
    this.signer = signer;
    this.verifier = verifier;
    this.users = users;
    this.clients = clients;
    this.codes = codes;
    this.refreshTokens = refreshTokens;
    this.throttle = throttle;
    this.passwordChecks = passwordChecks;
    this.requestRate = requestRate;
    this.hasher = hasher;
    this.clock = clock;
    this.refreshLifetime = refreshLifetime;
    this.external = external;
    this.devices = devices;
    this.fence = fence;
    this.mfa = mfa;
    this.mfaStates = mfaStates;
  }

  void register(Api api) {
    api.open(HandlerType.GET, "/idp/.well-known/openid-configuration", this::discovery);
    api.open(HandlerType.GET, "/idp/.well-known/jwks.json", this::jwks);
    api.open(HandlerType.POST, "/idp/connect/token", ctx -> oauth(ctx, this::token));
    api.open(HandlerType.POST, "/idp/connect/revocation", ctx -> oauth(ctx, this::revocation));
    api.open(
        HandlerType.POST,
        "/idp/connect/device_authorization",
        ctx -> oauth(ctx, this::deviceAuthorization));
    api.open(HandlerType.GET, "/idp/connect/userinfo", this::userinfo);
    api.open(HandlerType.POST, "/idp/connect/userinfo", this::userinfo);
    api.open(HandlerType.GET, "/idp/connect/authorize", this::authorizePage);
    api.open(HandlerType.POST, "/idp/connect/authorize", this::authorizeSubmit);
    api.open(HandlerType.POST, "/idp/connect/otp", this::otpSubmit);
    api.open(HandlerType.GET, "/idp/connect/external/{name}", this::externalStart);
    // An external provider's callback: one path segment (see ExternalProviders.callbackPath).
    // Routes
    // match in the order they were added, so this comes after every other single-segment route.
    api.open(HandlerType.GET, "/{callback}", this::externalCallback);
  }

  // --- discovery and keys ---------------------------------------------------------------------

  private void discovery(Context ctx) {
    OIDCProviderMetadata meta =
        new OIDCProviderMetadata(
            new Issuer(issuer),
            List.of(SubjectType.PUBLIC),
            URI.create(issuer + "/.well-known/jwks.json"));
    meta.setAuthorizationEndpointURI(URI.create(issuer + "/connect/authorize"));
    meta.setTokenEndpointURI(URI.create(issuer + "/connect/token"));
    meta.setUserInfoEndpointURI(URI.create(issuer + "/connect/userinfo"));
    meta.setRevocationEndpointURI(URI.create(issuer + "/connect/revocation"));
    meta.setDeviceAuthorizationEndpointURI(URI.create(issuer + "/connect/device_authorization"));
    meta.setScopes(new Scope(USER_SCOPES.toArray(String[]::new)));
    meta.setResponseTypes(List.of(ResponseType.CODE));
    meta.setGrantTypes(
        List.of(
            GrantType.AUTHORIZATION_CODE,
            GrantType.PASSWORD,
            GrantType.CLIENT_CREDENTIALS,
            GrantType.DEVICE_CODE,
            GrantType.REFRESH_TOKEN));
    meta.setCodeChallengeMethods(List.of(CodeChallengeMethod.S256));
    meta.setTokenEndpointAuthMethods(
        List.of(
            ClientAuthenticationMethod.CLIENT_SECRET_BASIC,
            ClientAuthenticationMethod.CLIENT_SECRET_POST,
            ClientAuthenticationMethod.NONE));
    meta.setIDTokenJWSAlgs(keys.publishedAlgorithms());
    meta.setClaims(List.of("sub", "name", "preferred_username"));
    // Request objects (RFC 9101) are not supported: say so, rather than let the library's default
    // (true) promise that request_uri is read.
    meta.setSupportsRequestURIParam(false);
    meta.setSupportsRequestParam(false);
    ctx.contentType("application/json").result(meta.toJSONObject().toJSONString());
  }

  private void jwks(Context ctx) {
    JWKSet set = new JWKSet(new ArrayList<JWK>(keys.publicKeys()));
    ctx.header("Cache-Control", "public, max-age=300")
        .contentType("application/json")
        .result(set.toString(true));
  }

  // --- token endpoint ---------------------------------------------------------------------------

  @FunctionalInterface
  private interface OAuthHandler {
    void handle(Context ctx, HTTPRequest request);
  }

  /** Runs an OAuth handler and renders its failures the OAuth way. */
  private void oauth(Context ctx, OAuthHandler handler) {
    ctx.header("Pragma", "no-cache");
    try {
      handler.handle(ctx, nimbusRequest(ctx));
    } catch (OAuthError.Failure f) {
      OAuthError e = f.error;
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("error", e.error());
      body.put("error_description", e.description());
      if (e.status() == 401 && ctx.header("Authorization") != null) {
        ctx.header("WWW-Authenticate", "Basic realm=\"vigil\"");
      }
      if (e.retryAfter() != null) {
        ctx.header("Retry-After", Long.toString(Math.max(1, e.retryAfter().toSeconds())));
      }
      ctx.status(e.status()).json(body);
    }
  }

  private HTTPRequest nimbusRequest(Context ctx) {
    HTTPRequest request =
        new HTTPRequest(HTTPRequest.Method.POST, URI.create(issuer + ctx.path().substring(4)));
    String contentType = ctx.contentType();
    if (contentType == null) {
      throw OAuthError.invalidRequest(
              "Send the request as application/x-www-form-urlencoded (RFC 6749).")
          .failure();
    }
    try {
      request.setEntityContentType(ContentType.parse(contentType));
    } catch (java.text.ParseException e) {
      throw OAuthError.invalidRequest("The Content-Type header is malformed.").failure();
    }
    String body = ctx.body();
    Map<String, String> params;
    try {
      params = FormParameters.parse(body);
    } catch (FormParameters.Invalid e) {
      throw OAuthError.invalidRequest(e.getMessage()).failure();
    }
    String authorization = ctx.header("Authorization");
    if (authorization != null) {
      requireOneClient(authorization, params);
      request.setAuthorization(authorization);
    }
    request.setBody(body);
    return request;
  }

  /**
   * A client authenticated with HTTP Basic may not name itself or authenticate again in the body
   * (RFC 6749 2.3: one method per request): Basic for one client with {@code client_id} of another
   * would leave open which client the request is for.
   */
  private static void requireOneClient(String authorization, Map<String, String> params) {
    if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return;
    }
    if (params.containsKey("client_secret") || params.containsKey("client_assertion")) {
      throw OAuthError.invalidRequest(
              "The client authenticated twice, with HTTP Basic and in the body; use one method.")
          .failure();
    }
    String named = params.get("client_id");
    if (named == null) {
      return;
    }
    String basicId;
    try {
      String decoded =
          new String(
              java.util.Base64.getDecoder().decode(authorization.substring(6).strip()),
              java.nio.charset.StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      basicId =
          java.net.URLDecoder.decode(
              colon < 0 ? decoded : decoded.substring(0, colon),
              java.nio.charset.StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw OAuthError.invalidRequest("The Authorization header is not valid HTTP Basic.")
          .failure();
    }
    if (!basicId.equals(named)) {
      throw OAuthError.invalidRequest(
              "client_id names another client than the one authenticated with HTTP Basic; send"
                  + " the authenticated client's id or leave client_id out.")
          .failure();
    }
  }

  private void token(Context ctx, HTTPRequest http) {
    TokenRequest request;
    try {
      request = TokenRequest.parse(http);
    } catch (ParseException e) {
      throw parseFailure(e);
    } catch (IllegalArgumentException e) {
      throw unparsable();
    }
    ClientID named =
        request.getClientAuthentication() != null
            ? request.getClientAuthentication().getClientID()
            : request.getClientID();
    limitRate(named == null ? null : named.getValue(), ClientAddress.of(ctx).address());
    OAuthClient client = client(request.getClientAuthentication(), request.getClientID());
    AuthorizationGrant grant = request.getAuthorizationGrant();
    String grantType = grant.getType().getValue();
    if (!client.allows(grantType)) {
      throw OAuthError.unauthorizedClient(
              "Client \""
                  + client.clientId()
                  + "\" may not use the "
                  + grantType
                  + " grant; it may use "
                  + client.grants()
                  + ".")
          .failure();
    }
    Scope requested = request.getScope();
    Map<String, Object> response =
        switch (grant) {
          case ResourceOwnerPasswordCredentialsGrant password ->
              passwordGrant(ctx, client, password, requested, oneTimeCode(request));
          case ClientCredentialsGrant ignored -> clientCredentialsGrant(client, requested);
          case AuthorizationCodeGrant code ->
              codeGrant(client, code, ClientAddress.of(ctx).address());
          case DeviceCodeGrant device ->
              deviceGrant(client, device, ClientAddress.of(ctx).address());
          case RefreshTokenGrant refresh ->
              refreshGrant(client, refresh, requested, ClientAddress.of(ctx).address());
          default ->
              throw new OAuthError(
                      400,
                      "unsupported_grant_type",
                      "Grant type \"" + Text.excerpt(grantType) + "\" is not supported.",
                      null)
                  .failure();
        };
    ctx.contentType("application/json").result(net.minidev.json.JSONObject.toJSONString(response));
  }

  /**
   * Counts a request against its client's rate at its address.
   *
   * @throws OAuthError.Failure 429 {@code slow_down} with {@code Retry-After} beyond the rate
   */
  private void limitRate(String clientId, String address) {
    Optional<Duration> wait = requestRate.take(clientId, address);
    if (wait.isPresent()) {
      throw new OAuthError(
              429,
              "slow_down",
              "Too many requests from client '"
                  + Text.excerpt(clientId)
                  + "' at this address; wait "
                  + Math.max(1, (wait.get().toMillis() + 999) / 1000)
                  + " seconds (Identity.TokenRequestsPerMinute).",
              wait.get())
          .failure();
    }
  }

  /** Authenticates a confidential client, or identifies a public one. */
  private OAuthClient client(ClientAuthentication auth, ClientID publicId) {
    if (auth != null) {
      String secret =
          switch (auth) {
            case ClientSecretBasic basic -> basic.getClientSecret().getValue();
            case ClientSecretPost post -> post.getClientSecret().getValue();
            default ->
                throw OAuthError.invalidClient(
                        "Client authentication "
                            + auth.getMethod()
                            + " is not supported; use client_secret_basic or client_secret_post.")
                    .failure();
          };
      String id = auth.getClientID().getValue();
      return clients
          .authenticate(id, secret)
          .orElseThrow(
              () ->
                  OAuthError.invalidClient(
                          "Client \""
                              + Text.excerpt(id)
                              + "\" is unknown or its secret is wrong. Check the client id and"
                              + " secret, or rotate the secret with POST /api/v1/clients/"
                              + Text.excerpt(id)
                              + "/secret.")
                      .failure());
    }
    if (publicId == null) {
      throw OAuthError.invalidClient(
              "The request names no client: send client_id (public clients) or authenticate with"
                  + " client_secret_basic or client_secret_post.")
          .failure();
    }
    Optional<OAuthClient> client = clients.find(publicId.getValue());
    if (client.isEmpty()) {
      throw OAuthError.invalidClient(
              "Client \"" + Text.excerpt(publicId.getValue()) + "\" is unknown.")
          .failure();
    }
    if (!OAuthClient.PUBLIC.equals(client.get().type())) {
      throw OAuthError.invalidClient(
              "Client \""
                  + Text.excerpt(publicId.getValue())
                  + "\" is confidential and must authenticate with its secret"
                  + " (client_secret_basic or client_secret_post).")
          .failure();
    }
    return client.get();
  }

  /** The form parameters that carry a one-time code with the password grant. */
  static final List<String> CODE_PARAMETERS = List.of("totp", "otp");

  /**
   * The one-time code sent with a password grant, in {@code totp} or {@code otp}; null without one.
   */
  private static String oneTimeCode(TokenRequest request) {
    Map<String, List<String>> custom = request.getCustomParameters();
    for (String name : CODE_PARAMETERS) {
      List<String> values = custom.get(name);
      if (values != null && values.size() > 1) {
        throw OAuthError.invalidRequest(name + " appears more than once.").failure();
      }
      if (values != null && !values.isEmpty() && !values.get(0).isBlank()) {
        return values.get(0);
      }
    }
    return null;
  }

  /**
   * The password grant. A user with multi-factor sign-in also sends a one-time code ({@code totp}
   * or {@code otp}); without one the answer is {@code invalid_grant} with a description that starts
   * with {@value #MFA_REQUIRED}, which the CLI recognises to ask for the code.
   */
  private Map<String, Object> passwordGrant(
      Context ctx,
      OAuthClient client,
      ResourceOwnerPasswordCredentialsGrant grant,
      Scope requested,
      String code) {
    String scope = userScope(requested);
    String address = ClientAddress.of(ctx).address();
    Checked checked =
        checkPassword(
            grant.getUsername(), grant.getPassword().getValue(), address, client.clientId());
    User user = checked.user();
    List<String> amr = List.of("pwd");
    String method = "password";
    if (mfa.enabled(user.id())) {
      if (code == null) {
        throw OAuthError.invalidGrant(
                MFA_REQUIRED
                    + ": user '"
                    + user.username()
                    + "' signs in with a one-time code. Send the current 6-digit code from the"
                    + " authenticator app, or a recovery code, in the totp parameter.")
            .failure();
      }
      MfaService.Factor factor =
          secondFactor(user, code, address, checked.knownAddress(), client.clientId())
              .orElseThrow(
                  () ->
                      OAuthError.invalidGrant(
                              "The one-time code is wrong, already used, or too old. Send the"
                                  + " current 6-digit code from the authenticator app, or an"
                                  + " unused recovery code.")
                          .failure());
      amr = List.of("pwd", "otp");
      method = "password+" + factor.id;
    }
    signedIn(user, address, client.clientId(), method);
    return newSession(user, client, scope, clock.instant(), amr);
  }

  /** How an {@code invalid_grant} description begins when a one-time code is missing. */
  static final String MFA_REQUIRED = "mfa_required";

  /**
   * Checks a second factor under the code throttle; a wrong code is a {@code user.signin.failed}
   * entry with reason {@code wrong_code}.
   *
   * @return the factor, or empty when the code was wrong
   * @throws OAuthError.Failure 429 when too many wrong codes came before
   */
  private Optional<MfaService.Factor> secondFactor(
      User user, String code, String address, boolean known, String clientId) {
    Optional<MfaService.Factor> factor;
    try {
      factor = mfa.verifySignIn(user, code, address, known);
    } catch (MfaService.Throttled t) {
      throw new OAuthError(429, "invalid_grant", t.getMessage(), t.retryAfter).failure();
    }
    if (factor.isEmpty()) {
      auditUser(
          user, address, "user.signin.failed", details("client", clientId, "reason", "wrong_code"));
    }
    return factor;
  }

  /** A user whose password was right, and whether it signed in from the address before. */
  private record Checked(User user, boolean knownAddress) {}

  /**
   * Checks a user's password under the throttle: the attempt is reserved before the password is
   * hashed, so concurrent attempts cannot overtake the count, and every failure is audited with the
   * client address. The sign-in is complete, and audited, only with {@link #signedIn}, after any
   * second factor.
   *
   * @throws OAuthError.Failure 429 when throttled, 503 {@code temporarily_unavailable} when no
   *     password check was free in time, 400 {@code invalid_grant} when wrong
   */
  private Checked checkPassword(String username, String password, String address, String clientId) {
    Optional<UserService.Login> login = users.login(username, address);
    boolean known = login.map(UserService.Login::knownAddress).orElse(false);
    LoginThrottle.Attempt attempt =
        switch (throttle.reserve(username, address, known)) {
          case LoginThrottle.Refusal r ->
              throw new OAuthError(429, "invalid_grant", r.reason(), r.retryAfter()).failure();
          case LoginThrottle.Attempt a -> a;
        };
    String hash = login.map(UserService.Login::passwordHash).orElse(null);
    boolean match;
    try {
      match = passwordChecks.run(() -> hasher.verify(password, hash));
    } catch (PasswordChecks.Busy busy) {
      throttle.released(attempt);
      throw new OAuthError(
              503,
              "temporarily_unavailable",
              "Too many sign-ins are being checked at once; try again in a moment.",
              busy.retryAfter())
          .failure();
    } catch (RuntimeException e) {
      throttle.released(attempt);
      throw e;
    }
    if (!match) {
      List<LoginThrottle.Lockout> lockouts = throttle.failed(attempt);
      auditFailure(username, login.map(UserService.Login::user), address, clientId, lockouts);
      LoginThrottle.Policy policy = throttle.policy();
      throw OAuthError.invalidGrant(
              "The user name or password is wrong. After "
                  + policy.failuresBeforeDelay()
                  + " failed attempts from one address, each further attempt from it waits"
                  + " longer, up to "
                  + policy.maxDelay().toMinutes()
                  + " minutes.")
          .failure();
    }
    throttle.succeeded(attempt);
    User user = login.get().user();
    if (!user.enabled()) {
      fence.run(
          h ->
              AuditLog.recordEvent(
                  h,
                  username,
                  user.id().toString(),
                  address,
                  "user.signin.failed",
                  UserService.TYPE,
                  user.id().toString(),
                  details("client", clientId, "reason", "disabled")));
      throw OAuthError.invalidGrant(
              "User \"" + user.username() + "\" is disabled; ask an administrator to enable it.")
          .failure();
    }
    return new Checked(user, known);
  }

  /**
   * Records a completed sign-in: the audit entry and the address as one the user signs in from.
   *
   * @param method {@code password}, or {@code password+totp} / {@code password+recovery_code}
   */
  private void signedIn(User user, String address, String clientId, String method) {
    fence.run(
        h -> {
          UserService.rememberAddress(h, user.id(), address);
          AuditLog.recordEvent(
              h,
              user.username(),
              user.id().toString(),
              address,
              "user.signin",
              UserService.TYPE,
              user.id().toString(),
              details("client", clientId, "method", method));
        });
  }

  /** A security event about {@code user}, from {@code address}, in the audit log. */
  private void auditUser(User user, String address, String action, Map<String, Object> details) {
    fence.run(
        h ->
            AuditLog.recordEvent(
                h,
                user.username(),
                user.id().toString(),
                address,
                action,
                UserService.TYPE,
                user.id().toString(),
                details));
  }

  /** A failed sign-in's audit entries: the failure, and any lockout it started. */
  private void auditFailure(
      String username,
      Optional<User> user,
      String address,
      String clientId,
      List<LoginThrottle.Lockout> lockouts) {
    String id = user.map(u -> u.id().toString()).orElse(username);
    String actorId = user.map(u -> u.id().toString()).orElse("-");
    fence.run(
        h -> {
          AuditLog.recordEvent(
              h,
              username,
              actorId,
              address,
              "user.signin.failed",
              UserService.TYPE,
              id,
              details(
                  "client",
                  clientId,
                  "reason",
                  user.isPresent() ? "wrong_password" : "unknown_user"));
          for (LoginThrottle.Lockout l : lockouts) {
            Map<String, Object> d =
                details(
                    "client",
                    clientId,
                    "scope",
                    l.scope().name().toLowerCase(java.util.Locale.ROOT));
            d.put("failures", l.failures());
            d.put("retryAfterSeconds", Math.max(1, l.retryAfter().toSeconds()));
            AuditLog.recordEvent(
                h, username, actorId, l.address(), "user.signin.lockout", UserService.TYPE, id, d);
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("user", username);
            data.put("address", l.address());
            data.putAll(d);
            siteEvents.raise(
                h,
                SIGNIN_FAILURES,
                "node:" + node,
                "warning",
                "Sign-in for user \""
                    + username
                    + "\" from "
                    + l.address()
                    + " is locked out after "
                    + l.failures()
                    + " failures",
                data);
          }
        });
    for (LoginThrottle.Lockout l : lockouts) {
      LOG.warn(
          "Sign-in for user \"{}\" from {} is throttled after {} failures ({}) for {} s",
          username,
          l.address(),
          l.failures(),
          l.scope().name().toLowerCase(java.util.Locale.ROOT),
          Math.max(1, l.retryAfter().toSeconds()));
    }
  }

  private static Map<String, Object> details(String... pairs) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return map;
  }

  private Map<String, Object> clientCredentialsGrant(OAuthClient client, Scope requested) {
    if (requested != null
        && !requested.isEmpty()
        && !Set.of(API_SCOPE).containsAll(requested.toStringList())) {
      throw OAuthError.invalidScope(
              "Clients acting for themselves may only request scope \"" + API_SCOPE + "\".")
          .failure();
    }
    String access =
        signer.accessToken(
            client.clientId(), null, client.clientId(), client.roles(), API_SCOPE, false);
    return tokenResponse(access, API_SCOPE, null, null);
  }

  /** What a grant gives, decided and stored in one transaction, signed after it commits. */
  private record Session(
      User user,
      String scope,
      String nonce,
      Instant authTime,
      String refreshToken,
      List<String> amr) {}

  private Map<String, Object> codeGrant(
      OAuthClient client, AuthorizationCodeGrant grant, String address) {
    String verifierValue =
        grant.getCodeVerifier() == null ? null : grant.getCodeVerifier().getValue();
    String redirect = grant.getRedirectionURI() == null ? "" : grant.getRedirectionURI().toString();
    String code = grant.getAuthorizationCode().getValue();
    Object outcome =
        fence.write(
            h ->
                switch (codes.redeem(h, code, client.clientId(), redirect, verifierValue)) {
                  case AuthorizationCodes.Redemption.Rejected r -> r;
                  case AuthorizationCodes.Redemption.Replayed r -> {
                    auditCodeReplay(
                        h,
                        r.userId(),
                        r.family(),
                        client.clientId(),
                        "authorization_code",
                        address);
                    yield new AuthorizationCodes.Redemption.Rejected(r.reason());
                  }
                  case AuthorizationCodes.Redemption.Redeemed r -> {
                    User user = enabledUser(h, r.grant().userId());
                    String scope = r.grant().scope();
                    UUID family = UUID.randomUUID();
                    String refresh =
                        startFamily(h, family, user, client, scope, r.grant().authTime());
                    if (refresh != null) {
                      AuthorizationCodes.recordFamily(h, code, family);
                    }
                    yield new Session(
                        user,
                        scope,
                        r.grant().nonce(),
                        r.grant().authTime(),
                        refresh,
                        r.grant().amr());
                  }
                });
    if (outcome instanceof AuthorizationCodes.Redemption.Rejected r) {
      throw OAuthError.invalidGrant(r.reason()).failure();
    }
    return sign(client, (Session) outcome);
  }

  /**
   * A device's poll (RFC 8628 3.4): an OAuth error until the user approved at the device page, then
   * the tokens, once. Redeeming the code and storing the refresh token it yields are one fenced
   * transaction, as for an authorization code; a refused poll commits the state it changed (the
   * time of the poll, a longer interval after {@code slow_down}).
   */
  private Map<String, Object> deviceGrant(
      OAuthClient client, DeviceCodeGrant grant, String address) {
    String code = grant.getDeviceCode().getValue();
    Object outcome =
        fence.write(
            h -> {
              Optional<DeviceAuthorizations.Polled> polled =
                  DeviceAuthorizations.poll(h, code, client.clientId());
              if (polled.isEmpty()) {
                return OAuthError.invalidGrant(
                    "The device code is unknown to this provider or was issued to another"
                        + " client; start the sign-in again.");
              }
              DeviceAuthorizations.Polled p = polled.get();
              return switch (p.poll()) {
                case DeviceFlow.Poll.Pending ignored ->
                    deviceError(
                        "authorization_pending",
                        "The user has not yet approved the sign-in at the device page.");
                case DeviceFlow.Poll.SlowDown s ->
                    deviceError(
                        "slow_down",
                        "Polled faster than the interval; poll every "
                            + s.next().interval().toSeconds()
                            + " seconds from now on.");
                case DeviceFlow.Poll.Denied ignored ->
                    deviceError("access_denied", "The user denied the sign-in.");
                case DeviceFlow.Poll.Expired ignored ->
                    deviceError(
                        "expired_token", "The device code has expired; start the sign-in again.");
                case DeviceFlow.Poll.Replayed ignored -> {
                  auditCodeReplay(
                      h, p.userId(), p.family(), client.clientId(), "device_code", address);
                  yield OAuthError.invalidGrant(
                      "The device code was already redeemed, so it may have been intercepted:"
                          + " the session it started is revoked. Sign in again.");
                }
                case DeviceFlow.Poll.Redeem ignored -> {
                  User user = enabledUser(h, p.userId());
                  UUID family = UUID.randomUUID();
                  String refresh = startFamily(h, family, user, client, p.scope(), p.authTime());
                  if (refresh != null) {
                    DeviceAuthorizations.recordFamily(h, code, family);
                  }
                  yield new Session(user, p.scope(), null, p.authTime(), refresh, null);
                }
              };
            });
    if (outcome instanceof OAuthError e) {
      throw e.failure();
    }
    return sign(client, (Session) outcome);
  }

  private static OAuthError deviceError(String error, String description) {
    return new OAuthError(400, error, description, null);
  }

  /**
   * {@code POST /idp/connect/device_authorization} (RFC 8628 3.1): a device code for the device to
   * poll with and a user code for the person to enter at {@code <issuer>/device}. Only clients
   * allowed the device grant get one.
   */
  private void deviceAuthorization(Context ctx, HTTPRequest http) {
    DeviceAuthorizationRequest request;
    try {
      request = DeviceAuthorizationRequest.parse(http);
    } catch (ParseException e) {
      throw parseFailure(e);
    }
    ClientID named =
        request.getClientAuthentication() != null
            ? request.getClientAuthentication().getClientID()
            : request.getClientID();
    limitRate(named == null ? null : named.getValue(), ClientAddress.of(ctx).address());
    OAuthClient client = client(request.getClientAuthentication(), request.getClientID());
    String grantType = GrantType.DEVICE_CODE.getValue();
    if (!client.allows(grantType)) {
      throw OAuthError.unauthorizedClient(
              "Client \""
                  + client.clientId()
                  + "\" may not use the device authorization grant; it may use "
                  + client.grants()
                  + ".")
          .failure();
    }
    String scope = userScope(request.getScope());
    DeviceAuthorizations.Started started = devices.start(client.clientId(), scope);
    String display = DeviceFlow.display(started.userCode());
    URI verification = URI.create(issuer + "/device");
    URI complete =
        URI.create(
            issuer
                + "/device?user_code="
                + java.net.URLEncoder.encode(display, java.nio.charset.StandardCharsets.UTF_8));
    DeviceAuthorizationSuccessResponse response =
        new DeviceAuthorizationSuccessResponse(
            new DeviceCode(started.deviceCode()),
            new UserCode(display, DeviceFlow.ALPHABET),
            verification,
            complete,
            DeviceFlow.LIFETIME.toSeconds(),
            DeviceFlow.INTERVAL.toSeconds(),
            null);
    ctx.contentType("application/json").result(response.toJSONObject().toJSONString());
  }

  /**
   * Redeems the refresh token and stores its successor in one fenced transaction: a node that loses
   * the role in between commits neither, and the client's retry on the next owner works. A check
   * that fails after redemption (scope, user) rolls the redemption back too.
   */
  private Map<String, Object> refreshGrant(
      OAuthClient client, RefreshTokenGrant grant, Scope requested, String address) {
    String token = grant.getRefreshToken().getValue();
    Object outcome =
        fence.write(
            h ->
                switch (refreshTokens.redeem(h, token, client.clientId())) {
                  case RefreshTokens.Redemption.Rejected r -> {
                    if (r.reused() != null) {
                      auditReuse(h, r.reused(), address);
                    }
                    yield r;
                  }
                  case RefreshTokens.Redemption.Redeemed r -> {
                    String scope = narrowed(r.grant().scope(), requested);
                    User user = enabledUser(h, r.grant().userId());
                    String successor =
                        offline(scope)
                            ? refreshTokens.issue(
                                h,
                                new RefreshTokens.Grant(
                                    r.grant().familyId(),
                                    user.id(),
                                    client.clientId(),
                                    r.grant().scope(),
                                    r.grant().expiresAt(),
                                    r.grant().authTime()),
                                r.parentHash())
                            : null;
                    yield new Session(user, scope, null, r.grant().authTime(), successor, null);
                  }
                });
    if (outcome instanceof RefreshTokens.Redemption.Rejected r) {
      throw OAuthError.invalidGrant(r.reason()).failure();
    }
    return sign(client, (Session) outcome);
  }

  /**
   * A single-use code (an authorization code, a device code) presented again: refused, and the
   * session it started revoked; audited as {@code token.reuse} with who, from where and what was
   * revoked, since the code may have been intercepted.
   *
   * @param family the session the code started, or null when it started none
   * @param grant the grant type the code belongs to
   */
  private void auditCodeReplay(
      Handle h, UUID userId, UUID family, String clientId, String grant, String address) {
    String name = users.find(h, userId).map(User::username).orElse("-");
    AuditLog.recordEvent(
        h,
        name,
        userId.toString(),
        address,
        "token.reuse",
        "session",
        family == null ? null : family.toString(),
        details(
            "client",
            clientId,
            "grant",
            grant,
            "revoked",
            family == null ? "nothing (the code started no session)" : "the session"));
    LOG.warn(
        "A used {} of user \"{}\" (client {}) was presented again from {}: the session it"
            + " started is revoked",
        grant.replace('_', ' '),
        name,
        clientId,
        address);
  }

  private void auditReuse(Handle h, RefreshTokens.Grant grant, String address) {
    String name = users.find(h, grant.userId()).map(User::username).orElse("-");
    AuditLog.recordEvent(
        h,
        name,
        grant.userId().toString(),
        address,
        "token.reuse",
        "session",
        grant.familyId().toString(),
        details("client", grant.clientId(), "revoked", "every refresh token of the session"));
    LOG.warn(
        "A used refresh token of user \"{}\" (client {}) was presented again from {}: its session"
            + " is revoked",
        name,
        grant.clientId(),
        address);
  }

  private static String narrowed(String granted, Scope requested) {
    if (requested == null || requested.isEmpty()) {
      return granted;
    }
    if (!Scope.parse(granted).containsAll(requested)) {
      throw OAuthError.invalidScope(
              "A refresh may only narrow the scope; it was granted \"" + granted + "\".")
          .failure();
    }
    return requested.toString();
  }

  private User enabledUser(Handle h, UUID id) {
    User user =
        users
            .find(h, id)
            .orElseThrow(
                () ->
                    OAuthError.invalidGrant("The user of this grant no longer exists.").failure());
    if (!user.enabled()) {
      throw OAuthError.invalidGrant("User \"" + user.username() + "\" is disabled.").failure();
    }
    return user;
  }

  private static boolean offline(String scope) {
    return Scope.parse(scope).contains("offline_access");
  }

  /** Stores the first refresh token of a new session when the scope asks for one. */
  private String startFamily(
      Handle h, UUID family, User user, OAuthClient client, String scope, Instant authTime) {
    if (!offline(scope)) {
      return null;
    }
    return refreshTokens.issue(
        h,
        new RefreshTokens.Grant(
            family,
            user.id(),
            client.clientId(),
            scope,
            clock.instant().plus(refreshLifetime),
            authTime),
        null);
  }

  /** A session that starts now, its refresh token stored in a transaction of its own. */
  private Map<String, Object> newSession(
      User user, OAuthClient client, String scope, Instant authTime, List<String> amr) {
    String refresh =
        offline(scope)
            ? fence.write(h -> startFamily(h, UUID.randomUUID(), user, client, scope, authTime))
            : null;
    return sign(client, new Session(user, scope, null, authTime, refresh, amr));
  }

  /**
   * Signs the tokens of a session. An administrator who must enrol a second factor first ({@link
   * MfaService#enrolmentRequired}) gets an access token without roles, marked {@code
   * mfa_enrolment_required}, which only the {@code /api/v1/me} routes accept; decided anew at every
   * refresh, so enrolling lifts it and turning the site setting on imposes it.
   */
  private Map<String, Object> sign(OAuthClient client, Session s) {
    User user = s.user();
    boolean enrolmentOnly = mfa.enrolmentRequired(user);
    String access =
        signer.accessToken(
            user.id().toString(),
            user.username(),
            client.clientId(),
            enrolmentOnly ? List.of() : user.effectiveRoles(),
            s.scope(),
            enrolmentOnly);
    String idToken =
        Scope.parse(s.scope()).contains("openid")
            ? signer.idToken(user, client.clientId(), s.nonce(), s.authTime(), s.amr())
            : null;
    Map<String, Object> response = tokenResponse(access, s.scope(), s.refreshToken(), idToken);
    if (enrolmentOnly) {
      response.put(TokenSigner.ENROLMENT_CLAIM, true);
    }
    return response;
  }

  private Map<String, Object> tokenResponse(
      String access, String scope, String refresh, String idToken) {
    BearerAccessToken token =
        new BearerAccessToken(access, signer.accessLifetime().toSeconds(), Scope.parse(scope));
    RefreshToken refreshToken = refresh == null ? null : new RefreshToken(refresh);
    AccessTokenResponse response =
        idToken != null
            ? new OIDCTokenResponse(new OIDCTokens(idToken, token, refreshToken))
            : new AccessTokenResponse(new Tokens(token, refreshToken));
    return response.toJSONObject();
  }

  static String userScope(Scope requested) {
    if (requested == null || requested.isEmpty()) {
      return String.join(" ", USER_SCOPES);
    }
    for (String s : requested.toStringList()) {
      if (!USER_SCOPES.contains(s)) {
        throw OAuthError.invalidScope(
                "Scope \""
                    + Text.excerpt(s)
                    + "\" is not supported; supported scopes: "
                    + USER_SCOPES
                    + ".")
            .failure();
      }
    }
    return new Scope(new LinkedHashSet<>(requested.toStringList()).toArray(String[]::new))
        .toString();
  }

  /**
   * A request the SDK cannot even describe an error for: it throws IllegalArgumentException when
   * the value it would quote holds characters RFC 6749 5.2 forbids in an error description.
   */
  private static OAuthError.Failure unparsable() {
    return OAuthError.invalidRequest(
            "The request is not valid: a parameter holds characters (such as control characters"
                + " or quotes) that no valid value has.")
        .failure();
  }

  private static OAuthError.Failure parseFailure(ParseException e) {
    ErrorObject error = e.getErrorObject();
    String code = error != null && error.getCode() != null ? error.getCode() : "invalid_request";
    int status =
        error != null && error.getHTTPStatusCode() >= 400 ? error.getHTTPStatusCode() : 400;
    return new OAuthError(
            status, code, "The request is not valid: " + Text.excerpt(e.getMessage()), null)
        .failure();
  }

  // --- revocation and userinfo ----------------------------------------------------------------

  private void revocation(Context ctx, HTTPRequest http) {
    TokenRevocationRequest request;
    try {
      request = TokenRevocationRequest.parse(http);
    } catch (ParseException e) {
      throw parseFailure(e);
    } catch (IllegalArgumentException e) {
      throw unparsable();
    }
    OAuthClient client = client(request.getClientAuthentication(), request.getClientID());
    // RFC 7009 2.1: the hint is optional, and a wrong one only widens the search, so every token is
    // looked up as a refresh token. Access tokens are short-lived JWTs that are not tracked; RFC
    // 7009 allows answering 200 for them anyway.
    refreshTokens.revoke(request.getToken().getValue(), client.clientId());
    ctx.status(200).result("");
  }

  private void userinfo(Context ctx) {
    String header = ctx.header("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.header("WWW-Authenticate", "Bearer realm=\"vigil\"");
      throw ApiException.unauthorized("userinfo needs \"Authorization: Bearer <access token>\".");
    }
    Principal principal;
    try {
      principal = verifier.verify(header.substring(7).trim());
    } catch (ApiException e) {
      ctx.header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      throw e;
    }
    if (!principal.scopes().contains("openid")) {
      throw ApiException.forbidden("userinfo needs a token granted with the openid scope.");
    }
    Map<String, Object> claims = new LinkedHashMap<>();
    claims.put("sub", principal.subject());
    if (!principal.subject().equals(principal.clientId())) {
      users
          .find(UUID.fromString(principal.subject()))
          .ifPresent(
              u -> {
                claims.put("preferred_username", u.username());
                if (principal.scopes().contains("profile")) {
                  claims.put("name", u.displayName());
                }
              });
    }
    ctx.json(claims);
  }

  // --- authorization endpoint (code flow with PKCE) ----------------------------------------------

  /** A validated authorization request. */
  private record AuthRequest(
      OAuthClient client,
      URI redirectUri,
      State state,
      String challenge,
      String scope,
      String nonce) {}

  /** An authorization request the user agent must not be redirected for (unknown client or URI). */
  private static final class NoRedirect extends RuntimeException {
    NoRedirect(String message) {
      super(message, null, false, false);
    }
  }

  /** An authorization request error that goes back to the client's redirect URI. */
  private static final class RedirectError extends RuntimeException {
    final URI location;

    RedirectError(URI location) {
      super(null, null, false, false);
      this.location = location;
    }
  }

  /** The longest {@code nonce} and {@code state} accepted; the database keeps a nonce in 500. */
  static final int MAX_NONCE = 255;

  static final int MAX_STATE = 500;

  private AuthRequest parseAuthRequest(Map<String, List<String>> params) {
    String clientId = single(params, "client_id");
    String redirect = single(params, "redirect_uri");
    for (String name : List.of("client_id", "redirect_uri")) {
      if (params.getOrDefault(name, List.of()).size() > 1) {
        throw new NoRedirect("The sign-in link is not valid: " + name + " appears more than once.");
      }
    }
    if (clientId == null) {
      throw new NoRedirect("The sign-in link is incomplete: client_id is missing.");
    }
    OAuthClient client =
        clients
            .find(clientId)
            .filter(c -> c.allows("authorization_code"))
            .orElseThrow(
                () ->
                    new NoRedirect(
                        "Client \""
                            + Text.excerpt(clientId)
                            + "\" is unknown or may not use browser sign-in."));
    URI redirectUri;
    try {
      redirectUri = redirect == null ? null : new URI(redirect);
    } catch (URISyntaxException e) {
      redirectUri = null;
    }
    if (redirectUri == null || !ClientService.redirectAllowed(client, redirectUri)) {
      throw new NoRedirect(
          "The redirect_uri is missing or not registered for client \"" + clientId + "\".");
    }
    State state = single(params, "state") == null ? null : new State(single(params, "state"));
    URI back = redirectUri;
    java.util.function.Function<String, RedirectError> error =
        description ->
            new RedirectError(
                new AuthorizationErrorResponse(
                        back,
                        new ErrorObject("invalid_request", rfc6749(description)),
                        state,
                        new Issuer(issuer),
                        ResponseMode.QUERY)
                    .toURI());
    // RFC 6749 3.1: no parameter more than once. Lengths are checked here, before the user types a
    // password, not when the grant is stored.
    for (String name : AUTH_PARAMS) {
      if (params.getOrDefault(name, List.of()).size() > 1) {
        throw error.apply(name + " appears more than once.");
      }
    }
    // OpenID Connect Core 6: request objects are not supported, and a client that sends one must
    // learn so rather than have its signed parameters silently ignored.
    if (params.containsKey("request_uri") || params.containsKey("request")) {
      String which = params.containsKey("request_uri") ? "request_uri" : "request";
      throw new RedirectError(
          new AuthorizationErrorResponse(
                  back,
                  new ErrorObject(
                      which + "_not_supported",
                      rfc6749(
                          "Request objects ("
                              + which
                              + ") are not supported; send the"
                              + " parameters themselves.")),
                  state,
                  new Issuer(issuer),
                  ResponseMode.QUERY)
              .toURI());
    }
    String nonce = single(params, "nonce");
    if (nonce != null && nonce.length() > MAX_NONCE) {
      throw error.apply("nonce is longer than " + MAX_NONCE + " characters.");
    }
    if (state != null && state.getValue().length() > MAX_STATE) {
      throw new NoRedirect(
          "The sign-in link is not valid: state is longer than " + MAX_STATE + " characters.");
    }
    if (!"code".equals(single(params, "response_type"))) {
      throw error.apply("response_type must be \"code\".");
    }
    String challenge = single(params, "code_challenge");
    String method = single(params, "code_challenge_method");
    if (challenge == null || !"S256".equals(method)) {
      throw error.apply(
          "PKCE with code_challenge_method=S256 is required; \"plain\" is not accepted.");
    }
    if (!challenge.matches("[A-Za-z0-9_-]{43}")) {
      throw error.apply("code_challenge must be a base64url SHA-256 value (43 characters).");
    }
    String scope;
    try {
      scope = userScope(Scope.parse(single(params, "scope")));
    } catch (OAuthError.Failure f) {
      throw new RedirectError(
          new AuthorizationErrorResponse(
                  back,
                  new ErrorObject("invalid_scope", rfc6749(f.error.description())),
                  state,
                  new Issuer(issuer),
                  ResponseMode.QUERY)
              .toURI());
    }
    return new AuthRequest(client, redirectUri, state, challenge, scope, nonce);
  }

  private static final List<String> AUTH_PARAMS =
      List.of(
          "client_id",
          "redirect_uri",
          "response_type",
          "scope",
          "state",
          "nonce",
          "code_challenge",
          "code_challenge_method");

  private void authorizePage(Context ctx) {
    Map<String, List<String>> params = ctx.queryParamMap();
    if (authRequest(ctx, params).isPresent()) {
      loginPage(ctx, 200, params, null);
    }
  }

  /**
   * The authorization request in {@code params}, or empty once the browser has been answered: with
   * an error page when the request cannot name where to send an error, else with the error sent
   * back to the client's redirect URI.
   */
  private Optional<AuthRequest> authRequest(Context ctx, Map<String, List<String>> params) {
    try {
      return Optional.of(parseAuthRequest(params));
    } catch (NoRedirect e) {
      errorPage(ctx, e.getMessage());
    } catch (RedirectError e) {
      ctx.redirect(e.location.toString(), io.javalin.http.HttpStatus.FOUND);
    }
    return Optional.empty();
  }

  /** An authorization request kept server-side (one value per parameter) as request parameters. */
  private static Map<String, List<String>> params(Map<String, String> stored) {
    Map<String, List<String>> params = new LinkedHashMap<>();
    stored.forEach((k, v) -> params.put(k, List.of(v)));
    return params;
  }

  private void authorizeSubmit(Context ctx) {
    Map<String, List<String>> params = ctx.formParamMap();
    Optional<AuthRequest> parsed = authRequest(ctx, params);
    if (parsed.isEmpty()) {
      return;
    }
    AuthRequest request = parsed.get();
    String username = Optional.ofNullable(single(params, "username")).orElse("").strip();
    String password = Optional.ofNullable(single(params, "password")).orElse("");
    String address = ClientAddress.of(ctx).address();
    User user;
    try {
      limitRate(request.client().clientId(), address);
      user = checkPassword(username, password, address, request.client().clientId()).user();
    } catch (OAuthError.Failure f) {
      if (f.error.retryAfter() != null) {
        ctx.header("Retry-After", Long.toString(Math.max(1, f.error.retryAfter().toSeconds())));
      }
      int status = f.error.status() == 429 || f.error.status() == 503 ? f.error.status() : 401;
      loginPage(ctx, status, params, f.error.description());
      return;
    }
    if (mfa.enabled(user.id())) {
      Map<String, String> original = new LinkedHashMap<>();
      for (String name : AUTH_PARAMS) {
        String value = single(params, name);
        if (value != null) {
          original.put(name, value);
        }
      }
      otpPage(ctx, 200, mfaStates.create(user.id(), original), null);
      return;
    }
    signedIn(user, address, request.client().clientId(), "password");
    completeAuthorization(ctx, request, user, List.of("pwd"));
  }

  /**
   * {@code POST /idp/connect/otp}: the sign-in page's second step, for the authorization request
   * and user its {@code mfa_state} was stored with. A wrong code counts against the state (and the
   * code throttle); the last allowed one ends it, and the user starts again with the password.
   */
  private void otpSubmit(Context ctx) {
    Map<String, List<String>> params = ctx.formParamMap();
    String state = single(params, "mfa_state");
    String code = Optional.ofNullable(single(params, "code")).orElse("").strip();
    Optional<MfaSignInStates.Pending> pending = mfaStates.find(state);
    if (pending.isEmpty()) {
      errorPage(
          ctx,
          "This sign-in has expired, was completed, or had too many wrong codes. Sign in again.");
      return;
    }
    Optional<AuthRequest> parsed = authRequest(ctx, params(pending.get().authorizeRequest()));
    if (parsed.isEmpty()) {
      return;
    }
    AuthRequest request = parsed.get();
    String address = ClientAddress.of(ctx).address();
    String clientId = request.client().clientId();
    User user;
    Optional<MfaService.Factor> factor;
    try {
      limitRate(clientId, address);
      Optional<User> found = users.find(pending.get().userId()).filter(User::enabled);
      if (found.isEmpty()) {
        mfaStates.consume(state);
        errorPage(ctx, "This user no longer exists or was disabled.");
        return;
      }
      user = found.get();
      boolean known =
          users.login(user.username(), address).map(UserService.Login::knownAddress).orElse(false);
      factor = secondFactor(user, code, address, known, clientId);
    } catch (OAuthError.Failure f) {
      if (f.error.retryAfter() != null) {
        ctx.header("Retry-After", Long.toString(Math.max(1, f.error.retryAfter().toSeconds())));
      }
      otpPage(ctx, f.error.status(), state, f.error.description());
      return;
    }
    if (factor.isEmpty()) {
      int left = mfaStates.failed(state);
      if (left == 0) {
        errorPage(ctx, "Too many wrong codes for this sign-in. Sign in again with your password.");
        return;
      }
      otpPage(
          ctx,
          401,
          state,
          "The code is wrong, already used, or too old. "
              + left
              + (left == 1 ? " attempt is" : " attempts are")
              + " left for this sign-in.");
      return;
    }
    if (!mfaStates.consume(state)) {
      errorPage(ctx, "This sign-in was already completed. Sign in again.");
      return;
    }
    signedIn(user, address, clientId, "password+" + factor.get().id);
    completeAuthorization(ctx, request, user, List.of("pwd", "otp"));
  }

  /** Issues the authorization code for a signed-in user and sends the browser to the client. */
  private void completeAuthorization(
      Context ctx, AuthRequest request, User user, List<String> amr) {
    String code =
        codes.issue(
            request.client().clientId(),
            user.id(),
            request.redirectUri().toString(),
            request.challenge(),
            request.scope(),
            request.nonce(),
            amr);
    URI location =
        new AuthorizationSuccessResponse(
                request.redirectUri(),
                new AuthorizationCode(code),
                null,
                request.state(),
                new Issuer(issuer),
                ResponseMode.QUERY)
            .toURI();
    ctx.redirect(location.toString(), io.javalin.http.HttpStatus.FOUND);
  }

  // --- external providers -----------------------------------------------------------------------

  /**
   * {@code GET /idp/connect/external/{name}?<authorize parameters>}: the sign-in page's "Sign in
   * with …" link. Validates the authorization request as the sign-in page did, keeps it server-side
   * and sends the browser to the provider.
   */
  private void externalStart(Context ctx) {
    Map<String, List<String>> params = ctx.queryParamMap();
    if (authRequest(ctx, params).isEmpty()) {
      return;
    }
    Map<String, String> original = new LinkedHashMap<>();
    for (String name : AUTH_PARAMS) {
      String value = single(params, name);
      if (value != null) {
        original.put(name, value);
      }
    }
    try {
      URI provider = external.start(ctx.pathParam("name"), original);
      ctx.redirect(provider.toString(), io.javalin.http.HttpStatus.FOUND);
    } catch (SignInFailure f) {
      externalError(ctx, f.status(), f.code(), f.getMessage());
    }
  }

  /**
   * The provider's redirect back to its callback path: complete the external sign-in, provision the
   * user, and finish the original authorization request with Vigil's own code.
   */
  private void externalCallback(Context ctx) {
    String path = ctx.path();
    if (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (!external.isCallbackPath(path)) {
      throw new ApiException(404, "not_found", "No resource at GET " + ctx.path() + ".");
    }
    try {
      ExternalSignIn.Verified verified = external.complete(path, ctx.queryParamMap());
      Optional<AuthRequest> parsed = authRequest(ctx, params(verified.authorizeRequest()));
      if (parsed.isEmpty()) {
        return;
      }
      AuthRequest request = parsed.get();
      User user =
          users.signInExternal(
              verified.provider(),
              verified.subject(),
              verified.username(),
              verified.displayName(),
              verified.ruleIds());
      String address = ClientAddress.of(ctx).address();
      auditUser(
          user,
          address,
          "user.signin",
          details(
              "client",
              request.client().clientId(),
              "method",
              "external",
              "provider",
              verified.provider()));
      completeAuthorization(ctx, request, user, List.of("ext"));
    } catch (SignInFailure f) {
      externalError(ctx, f.status(), f.code(), f.getMessage());
    } catch (ApiException e) {
      externalError(ctx, e.status(), e.code(), e.getMessage());
    }
  }

  /** An external sign-in error: JSON for API callers, otherwise a page a person can read. */
  private static void externalError(Context ctx, int status, String code, String message) {
    String accept = ctx.header("Accept");
    if (accept != null && accept.contains("application/json") && !accept.contains("text/html")) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("code", code);
      body.put("message", message);
      ctx.status(status).json(body);
      return;
    }
    htmlHeaders(ctx);
    ctx.status(status)
        .result(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in"
                + " failed</title></head><body><h1>Sign-in failed</h1><p role=\"alert\">"
                + escape(message)
                + "</p><p>Error code: <code id=\"error-code\">"
                + escape(code)
                + "</code></p><p>Open the console or the sign-in link again.</p></body></html>\n");
  }

  /**
   * {@code description} in the characters RFC 6749 allows in {@code error_description} (printable
   * ASCII without {@code "} and {@code \\}): quotes become {@code '}, a backslash {@code /}, and
   * anything else outside the range (a client's non-ASCII or control characters quoted back) {@code
   * ?}. The OAuth library refuses to build an error with any other character.
   */
  static String rfc6749(String description) {
    StringBuilder out = new StringBuilder(description.length());
    for (int i = 0; i < description.length(); i++) {
      char c = description.charAt(i);
      out.append(c == '"' ? '\'' : c == '\\' ? '/' : c >= 0x20 && c <= 0x7e ? c : '?');
    }
    return out.toString();
  }

  private static String single(Map<String, List<String>> params, String name) {
    List<String> values = params.get(name);
    return values == null || values.isEmpty() || values.get(0).isEmpty() ? null : values.get(0);
  }

  static void htmlHeaders(Context ctx) {
    ctx.contentType("text/html; charset=utf-8")
        .header("X-Frame-Options", "DENY")
        .header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
        .header("Referrer-Policy", "no-referrer");
  }

  private void loginPage(Context ctx, int status, Map<String, List<String>> params, String error) {
    StringBuilder hidden = new StringBuilder();
    for (String name : AUTH_PARAMS) {
      String value = single(params, name);
      if (value != null) {
        hidden
            .append("<input type=\"hidden\" name=\"")
            .append(name)
            .append("\" value=\"")
            .append(escape(value))
            .append("\">\n");
      }
    }
    String username = Optional.ofNullable(single(params, "username")).orElse("");
    StringBuilder query = new StringBuilder();
    for (String name : AUTH_PARAMS) {
      String value = single(params, name);
      if (value != null) {
        query
            .append(query.isEmpty() ? "?" : "&")
            .append(name)
            .append('=')
            .append(java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    StringBuilder providers = new StringBuilder();
    for (ExternalProvider p : external.choices()) {
      providers
          .append("<a class=\"provider\" href=\"external/")
          .append(p.name())
          .append(escape(query.toString()))
          .append("\">Sign in with ")
          .append(escape(p.displayName()))
          .append("</a>\n");
    }
    htmlHeaders(ctx);
    ctx.status(status)
        .result(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to"
                + " Vigil</title>\n<style>body{font-family:sans-serif;max-width:22em;margin:4em"
                + " auto}label,input,button,a.provider{display:block;width:100%;margin:.4em 0}"
                + ".error{color:#b00020}</style></head><body>\n<h1>Sign in to Vigil</h1>\n"
                + (error == null
                    ? ""
                    : "<p class=\"error\" role=\"alert\">" + escape(error) + "</p>\n")
                + "<form method=\"post\" action=\"authorize\">\n"
                + hidden
                + "<label for=\"username\">User name</label><input id=\"username\" name=\"username\""
                + " autocomplete=\"username\" required value=\""
                + escape(username)
                + "\">\n<label for=\"password\">Password</label><input id=\"password\""
                + " name=\"password\" type=\"password\" autocomplete=\"current-password\""
                + " required>\n<button type=\"submit\">Sign in</button>\n</form>\n"
                + (providers.isEmpty()
                    ? ""
                    : "<div class=\"providers\"><p>Or sign in with your organisation:</p>\n"
                        + providers
                        + "</div>\n")
                + "</body></html>\n");
  }

  /** The second step of the sign-in page: the one-time code, for the state of the first. */
  private static void otpPage(Context ctx, int status, String state, String error) {
    htmlHeaders(ctx);
    ctx.status(status)
        .result(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to"
                + " Vigil</title>\n<style>body{font-family:sans-serif;max-width:22em;margin:4em"
                + " auto}label,input,button{display:block;width:100%;margin:.4em 0}"
                + ".error{color:#b00020}</style></head><body>\n<h1>Sign in to Vigil</h1>\n"
                + (error == null
                    ? ""
                    : "<p class=\"error\" role=\"alert\">" + escape(error) + "</p>\n")
                + "<form method=\"post\" action=\"otp\">\n<input type=\"hidden\""
                + " name=\"mfa_state\" value=\""
                + escape(state)
                + "\">\n<label for=\"code\">Enter the 6-digit code from your authenticator app,"
                + " or one of your recovery codes</label><input id=\"code\" name=\"code\""
                + " autocomplete=\"one-time-code\" autocapitalize=\"characters\" spellcheck=\"false\""
                + " maxlength=\"40\" required autofocus>\n<button type=\"submit\">Verify</button>\n"
                + "</form>\n</body></html>\n");
  }

  private static void errorPage(Context ctx, String message) {
    htmlHeaders(ctx);
    ctx.status(400)
        .result(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in"
                + " error</title></head><body><h1>Sign-in error</h1><p>"
                + escape(message)
                + "</p><p>Open the console or the sign-in link again.</p></body></html>\n");
  }

  /** HTML escaping for text and double-quoted attribute values. */
  static String escape(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }
}
