package io.vigil.server.identity.external;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.impl.ECDSA;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.PrivateKeyJWT;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.Prompt;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import io.vigil.server.cluster.Fence;
import io.vigil.server.protect.DataProtector;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.interfaces.ECPrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signing in through an external OpenID Connect provider (authorization code flow with PKCE S256,
 * {@code state} and {@code nonce}).
 *
 * <p>{@link #start} keeps the original authorization request of Vigil's own client server-side
 * ({@link SignInStates}) and returns the provider's authorization URL. {@link #complete} takes the
 * provider's redirect back: it uses up the state, exchanges the code at the provider's token
 * endpoint (authenticating with the client secret or a {@code private_key_jwt} assertion signed by
 * a certificate from the node's store), validates the ID token with Nimbus' {@link
 * IDTokenValidator} (signature through the provider's JWKS, issuer, audience = client id, expiry,
 * nonce), evaluates the claim rules, and returns who signed in. It writes nothing but the used-up
 * state; the caller provisions the user and completes the original request.
 *
 * <p>Every failure is a {@link SignInFailure} with a stable code. The client secret, the code and
 * the tokens are never logged.
 */
public final class ExternalSignIn {

  private static final Logger log = LoggerFactory.getLogger(ExternalSignIn.class);
  private static final Set<JWSAlgorithm> ASYMMETRIC =
      Set.of(
          JWSAlgorithm.RS256,
          JWSAlgorithm.RS384,
          JWSAlgorithm.RS512,
          JWSAlgorithm.PS256,
          JWSAlgorithm.PS384,
          JWSAlgorithm.PS512,
          JWSAlgorithm.ES256,
          JWSAlgorithm.ES384,
          JWSAlgorithm.ES512);
  private static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");

  /**
   * A user the provider vouched for.
   *
   * @param subject the provider's {@code sub}; with the provider it identifies the user for good
   * @param username from the provider's configured user-name claim
   * @param ruleIds the claim rules that matched this sign-in
   * @param authorizeRequest the parameters of the original {@code /idp/connect/authorize} request
   */
  public record Verified(
      String provider,
      String subject,
      String username,
      String displayName,
      List<UUID> ruleIds,
      Map<String, String> authorizeRequest) {}

  private final ExternalProviders providers;
  private final ProviderMetadata metadata;
  private final SignInStates states;
  private final ClientAssertionKeys keys;
  private final HttpClient http;
  private final Duration stateLifetime;

  /**
   * @param tls whose certificates the provider's HTTPS endpoints may present
   */
  public ExternalSignIn(
      ExternalProviders providers,
      Fence fence,
      DataProtector protector,
      ClientAssertionKeys keys,
      SSLContext tls,
      Clock clock) {
    this(providers, fence, protector, keys, tls, clock, SignInStates.LIFETIME);
  }

  /**
   * @param tls whose certificates the provider's HTTPS endpoints may present
   * @param stateLifetime how long a sign-in may stay at the provider
   */
  public ExternalSignIn(
      ExternalProviders providers,
      Fence fence,
      DataProtector protector,
      ClientAssertionKeys keys,
      SSLContext tls,
      Clock clock,
      Duration stateLifetime) {
    this.providers = providers;
    this.keys = keys;
    this.stateLifetime = stateLifetime;
    this.http =
        HttpClient.newBuilder()
            .sslContext(tls)
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.metadata = new ProviderMetadata(http, clock);
    this.states = new SignInStates(fence, protector, stateLifetime);
  }

  /** The providers the sign-in page offers. */
  public List<ExternalProvider> choices() {
    return providers.enabled();
  }

  /** Whether {@code path} is some provider's callback path. */
  public boolean isCallbackPath(String path) {
    return providers.isCallbackPath(path);
  }

  /**
   * Starts a sign-in with provider {@code name} for an authorization request already validated by
   * the caller.
   *
   * @return the provider's authorization URL to send the browser to
   */
  public URI start(String name, Map<String, String> authorizeRequest) {
    ExternalProvider provider =
        providers
            .find(name)
            .orElseThrow(
                () ->
                    new SignInFailure(
                        404,
                        "unknown_provider",
                        "There is no identity provider named \"" + name + "\"."));
    if (!provider.enabled()) {
      throw disabled(provider);
    }
    ProviderMetadata.Document doc = metadata.get(provider.authority());
    State state = new State();
    Nonce nonce = new Nonce();
    CodeVerifier verifier = new CodeVerifier();
    states.create(
        state.getValue(),
        new SignInStates.Pending(
            provider.name(), nonce.getValue(), verifier.getValue(), authorizeRequest));
    AuthenticationRequest.Builder request =
        new AuthenticationRequest.Builder(
                ResponseType.CODE,
                new Scope(provider.scopes().toArray(String[]::new)),
                new ClientID(provider.clientId()),
                URI.create(provider.redirectUri()))
            .endpointURI(doc.metadata().getAuthorizationEndpointURI())
            .state(state)
            .nonce(nonce)
            .codeChallenge(verifier, CodeChallengeMethod.S256);
    if (provider.promptForLogin()) {
      request.prompt(new Prompt(Prompt.Type.LOGIN));
    }
    log.info("External sign-in started with provider {}", provider.name());
    return request.build().toURI();
  }

  /**
   * Completes a sign-in from the provider's redirect to {@code callbackPath}.
   *
   * @param query the redirect's query parameters
   * @throws SignInFailure when anything is wrong; nothing but the state is used up then
   */
  public Verified complete(String callbackPath, Map<String, List<String>> query) {
    String stateValue = single(query, "state");
    if (stateValue == null) {
      throw new SignInFailure(
          400,
          "unknown_state",
          "The answer from the identity provider carries no state, so it belongs to no sign-in"
              + " started here. Start again from the sign-in page.");
    }
    SignInStates.Pending pending =
        switch (states.consume(stateValue)) {
          case SignInStates.Outcome.Found f -> f.pending();
          case SignInStates.Outcome.Unknown u ->
              throw new SignInFailure(
                  400,
                  "unknown_state",
                  "This sign-in is unknown or was already completed (each one can be used once)."
                      + " Start again from the sign-in page.");
          case SignInStates.Outcome.Expired e ->
              throw new SignInFailure(
                  400,
                  "expired_state",
                  "This sign-in took longer than "
                      + stateLifetime.toSeconds()
                      + " seconds at the identity provider and has expired. Start again from the"
                      + " sign-in page.");
        };
    ExternalProvider provider =
        providers
            .find(pending.provider())
            .orElseThrow(
                () ->
                    new SignInFailure(
                        404,
                        "unknown_provider",
                        "Identity provider \""
                            + pending.provider()
                            + "\" was removed while you were signing in with it."));
    if (!provider.callbackPath().equals(callbackPath)) {
      throw new SignInFailure(
          400,
          "callback_mismatch",
          "This sign-in with \""
              + provider.displayName()
              + "\" must come back to "
              + provider.callbackPath()
              + ", not "
              + callbackPath
              + ".");
    }
    if (!provider.enabled()) {
      throw disabled(provider);
    }
    String error = single(query, "error");
    if (error != null) {
      String description = single(query, "error_description");
      throw new SignInFailure(
          400,
          "provider_error",
          "\""
              + provider.displayName()
              + "\" did not sign you in: "
              + error
              + (description == null ? "" : " (" + description + ")")
              + ".");
    }
    String code = single(query, "code");
    if (code == null) {
      throw new SignInFailure(
          400,
          "missing_code",
          "The answer from \"" + provider.displayName() + "\" carries no authorization code.");
    }
    ProviderMetadata.Document doc = metadata.get(provider.authority());
    String iss = single(query, "iss");
    if (iss != null && !iss.equals(doc.metadata().getIssuer().getValue())) {
      // RFC 9207: an answer from another issuer than the one this sign-in went to.
      throw new SignInFailure(
          400,
          "issuer_mismatch",
          "The answer names the issuer \""
              + iss
              + "\", not \""
              + doc.metadata().getIssuer().getValue()
              + "\" that this sign-in went to.");
    }
    JWT idToken = exchange(provider, doc, code, pending.codeVerifier());
    IDTokenClaimsSet claims = validate(provider, doc, idToken, new Nonce(pending.nonce()), false);
    Map<String, Object> all = claims.toJSONObject();
    Object name = all.get(provider.userNameClaim());
    if (!(name instanceof String username) || username.isBlank()) {
      throw new SignInFailure(
          400,
          "missing_username_claim",
          "The ID token from \""
              + provider.displayName()
              + "\" has no text claim \""
              + provider.userNameClaim()
              + "\" to take the user name from. An administrator can choose another claim"
              + " (userNameClaim) or have the provider send this one.");
    }
    if (!USERNAME.matcher(username).matches()) {
      throw new SignInFailure(
          400,
          "invalid_username_claim",
          "The user name \""
              + username
              + "\" from claim \""
              + provider.userNameClaim()
              + "\" is not a valid Vigil user name (1-64 letters, digits, '.', '_', '@' or '-').");
    }
    String display =
        all.get("name") instanceof String n && !n.isBlank() && n.length() <= 200
            ? n.strip()
            : username;
    List<UUID> matched =
        providers.rules(provider.name()).stream()
            .filter(r -> r.matches(all))
            .map(ClaimRule::id)
            .toList();
    log.info(
        "External sign-in of {} via provider {} validated; {} claim rule(s) matched",
        username,
        provider.name(),
        matched.size());
    return new Verified(
        provider.name(),
        claims.getSubject().getValue(),
        username,
        display,
        matched,
        pending.authorizeRequest());
  }

  // --- token endpoint ---------------------------------------------------------------------------

  private JWT exchange(
      ExternalProvider provider, ProviderMetadata.Document doc, String code, String verifier) {
    URI endpoint = doc.metadata().getTokenEndpointURI();
    TokenRequest request =
        new TokenRequest.Builder(
                endpoint,
                clientAuthentication(provider, endpoint),
                new AuthorizationCodeGrant(
                    new AuthorizationCode(code),
                    URI.create(provider.redirectUri()),
                    new CodeVerifier(verifier)))
            .build();
    HTTPRequest nimbus = request.toHTTPRequest();
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(nimbus.getURI())
            .timeout(ProviderMetadata.TIMEOUT)
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    nimbus.getBody() == null ? "" : nimbus.getBody(), StandardCharsets.UTF_8));
    nimbus
        .getHeaderMap()
        .forEach((header, values) -> values.forEach(v -> builder.header(header, v)));
    builder.header("Accept", "application/json");
    HttpResponse<String> response;
    try {
      response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      metadata.invalidate(provider.authority());
      throw ProviderMetadata.unavailable(
          provider.authority(),
          "cannot reach its token endpoint " + endpoint + ": " + ProviderMetadata.describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ProviderMetadata.unavailable(provider.authority(), "interrupted");
    }
    HTTPResponse answer = new HTTPResponse(response.statusCode());
    response
        .headers()
        .firstValue("Content-Type")
        .ifPresent(
            type -> {
              try {
                answer.setContentType(type);
              } catch (ParseException e) {
                // Left unset: the parser below then reports the answer as not JSON.
              }
            });
    answer.setBody(response.body());
    TokenResponse parsed;
    try {
      parsed = OIDCTokenResponseParser.parse(answer);
    } catch (ParseException e) {
      if (response.statusCode() >= 500) {
        metadata.invalidate(provider.authority());
      }
      throw new SignInFailure(
          502,
          "token_exchange_failed",
          "The token endpoint of \""
              + provider.displayName()
              + "\" answered HTTP "
              + response.statusCode()
              + " with no usable token response.");
    }
    if (!parsed.indicatesSuccess()) {
      TokenErrorResponse error = parsed.toErrorResponse();
      String code2 = error.getErrorObject() == null ? null : error.getErrorObject().getCode();
      String description =
          error.getErrorObject() == null ? null : error.getErrorObject().getDescription();
      throw new SignInFailure(
          502,
          "token_exchange_failed",
          "\""
              + provider.displayName()
              + "\" refused to exchange the authorization code: "
              + (code2 == null ? "HTTP " + response.statusCode() : code2)
              + (description == null ? "" : " (" + description + ")")
              + ". Check the provider's client id, client authentication and redirect URI "
              + provider.redirectUri()
              + ".");
    }
    if (!(parsed instanceof OIDCTokenResponse oidc) || oidc.getOIDCTokens().getIDToken() == null) {
      throw new SignInFailure(
          502,
          "token_exchange_failed",
          "\"" + provider.displayName() + "\" answered without an ID token; is scope openid sent?");
    }
    return oidc.getOIDCTokens().getIDToken();
  }

  private ClientAuthentication clientAuthentication(ExternalProvider provider, URI endpoint) {
    ClientID client = new ClientID(provider.clientId());
    if (provider.usesSecret()) {
      Secret secret =
          new Secret(
              providers
                  .clientSecret(provider.name())
                  .orElseThrow(
                      () ->
                          new SignInFailure(
                              500,
                              "client_secret_missing",
                              "Identity provider \""
                                  + provider.name()
                                  + "\" has no client secret; an administrator must set one.")));
      return ExternalProvider.CLIENT_SECRET_POST.equals(provider.clientAuthentication())
          ? new ClientSecretPost(client, secret)
          : new ClientSecretBasic(client, secret);
    }
    ClientAssertionKeys.KeyAndCertificate key =
        keys.find(provider.certificateThumbprint())
            .orElseThrow(
                () ->
                    new SignInFailure(
                        500,
                        "certificate_not_found",
                        "The certificate with thumbprint "
                            + provider.certificateThumbprint()
                            + " that signs Vigil's client assertion for \""
                            + provider.name()
                            + "\" is not in this node's personal certificate store, or its private"
                            + " key cannot be read. Import it on every node."));
    try {
      byte[] der = key.certificate().getEncoded();
      JWSAlgorithm algorithm =
          key.privateKey() instanceof ECPrivateKey ec
              ? ECDSA.resolveAlgorithm(Curve.forECParameterSpec(ec.getParams()))
              : JWSAlgorithm.RS256;
      return new PrivateKeyJWT(
          client,
          endpoint,
          algorithm,
          key.privateKey(),
          provider.certificateThumbprint(),
          List.of(Base64.encode(der)),
          Base64URL.encode(MessageDigest.getInstance("SHA-256").digest(der)),
          null);
    } catch (JOSEException | CertificateEncodingException | NoSuchAlgorithmException e) {
      throw new SignInFailure(
          500,
          "client_assertion_failed",
          "Cannot sign the client assertion for \""
              + provider.name()
              + "\" with certificate "
              + provider.certificateThumbprint()
              + ": "
              + e.getMessage());
    }
  }

  // --- ID token ---------------------------------------------------------------------------------

  private IDTokenClaimsSet validate(
      ExternalProvider provider,
      ProviderMetadata.Document doc,
      JWT idToken,
      Nonce nonce,
      boolean keysRefreshed) {
    Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
    if (doc.metadata().getIDTokenJWSAlgs() != null) {
      doc.metadata().getIDTokenJWSAlgs().stream()
          .filter(ASYMMETRIC::contains)
          .forEach(algorithms::add);
    }
    if (algorithms.isEmpty()) {
      algorithms.add(JWSAlgorithm.RS256);
    }
    IDTokenValidator validator =
        new IDTokenValidator(
            new Issuer(doc.metadata().getIssuer().getValue()),
            new ClientID(provider.clientId()),
            new JWSVerificationKeySelector<SecurityContext>(
                algorithms, new ImmutableJWKSet<>(doc.keys())),
            null);
    try {
      return validator.validate(idToken, nonce);
    } catch (BadJWSException e) {
      throw invalid(
          provider,
          "id_token_bad_signature",
          "its signature does not verify with the provider's published keys");
    } catch (BadJWTException e) {
      String m = e.getMessage() == null ? "" : e.getMessage();
      if (m.contains("audience")) {
        throw invalid(
            provider,
            "id_token_wrong_audience",
            "it was issued for another client, not for client id \"" + provider.clientId() + "\"");
      }
      if (m.contains("Expired")) {
        throw invalid(provider, "id_token_expired", "it has expired");
      }
      if (m.contains("issuer")) {
        throw invalid(
            provider,
            "id_token_wrong_issuer",
            "it was issued by another issuer than " + doc.metadata().getIssuer().getValue());
      }
      if (m.contains("nonce")) {
        throw invalid(
            provider, "id_token_nonce_mismatch", "its nonce does not belong to this sign-in");
      }
      throw invalid(provider, "invalid_id_token", m);
    } catch (BadJOSEException e) {
      if (!keysRefreshed) {
        // Signed with a key the cached JWKS lacks: the provider may have rotated its keys.
        return validate(provider, metadata.refresh(provider.authority()), idToken, nonce, true);
      }
      throw invalid(
          provider,
          "id_token_bad_signature",
          "it is not signed with any of the provider's published keys and algorithms "
              + algorithms);
    } catch (JOSEException e) {
      throw invalid(provider, "invalid_id_token", "it cannot be checked: " + e.getMessage());
    }
  }

  private static SignInFailure invalid(ExternalProvider provider, String code, String why) {
    log.warn("Rejected an ID token from provider {}: {} ({})", provider.name(), why, code);
    return new SignInFailure(
        401,
        code,
        "The ID token from \""
            + provider.displayName()
            + "\" is not accepted: "
            + why
            + ". Nobody was signed in.");
  }

  private static SignInFailure disabled(ExternalProvider provider) {
    return new SignInFailure(
        409,
        "provider_disabled",
        "Sign-in with \""
            + provider.displayName()
            + "\" is disabled. Sign in another way, or ask an administrator to enable it.");
  }

  private static String single(Map<String, List<String>> params, String name) {
    List<String> values = params.get(name);
    return values == null || values.isEmpty() || values.get(0).isEmpty() ? null : values.get(0);
  }
}
