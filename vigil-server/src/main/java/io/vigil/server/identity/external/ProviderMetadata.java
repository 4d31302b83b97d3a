package io.vigil.server.identity.external;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The discovery documents and signing keys of external providers, fetched with the JDK HTTP client
 * from {@code <authority>/.well-known/openid-configuration} and its {@code jwks_uri}, and cached
 * per authority in this node's memory. A cached entry is used until something shows it stale: the
 * provider cannot be reached at an endpoint it names, or an ID token is signed with a key it does
 * not list (a key rotation); then {@link #refresh} fetches both again. Entries also expire after
 * {@link #MAX_AGE}, so a long-running node picks up changed endpoints on its own.
 *
 * <p>Thread-safe. Two requests that find the cache empty at once may both fetch; the later result
 * wins, and both are equally fresh.
 */
final class ProviderMetadata {

  static final Duration MAX_AGE = Duration.ofHours(24);
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** One provider's metadata and the keys its {@code jwks_uri} served. */
  record Document(OIDCProviderMetadata metadata, JWKSet keys, Instant fetchedAt) {}

  private final HttpClient http;
  private final Clock clock;
  private final Map<String, Document> cache = new ConcurrentHashMap<>();

  ProviderMetadata(HttpClient http, Clock clock) {
    this.http = http;
    this.clock = clock;
  }

  /** The cached document, or a freshly fetched one. */
  Document get(String authority) {
    Document cached = cache.get(authority);
    if (cached != null && clock.instant().isBefore(cached.fetchedAt().plus(MAX_AGE))) {
      return cached;
    }
    return refresh(authority);
  }

  /** Fetches the document and keys again and caches them. */
  Document refresh(String authority) {
    try {
      Document fresh = fetch(authority);
      cache.put(authority, fresh);
      return fresh;
    } catch (SignInFailure e) {
      cache.remove(authority);
      throw e;
    }
  }

  /** Forgets the cached document, so that the next sign-in fetches it again. */
  void invalidate(String authority) {
    cache.remove(authority);
  }

  private Document fetch(String authority) {
    URI discovery = URI.create(authority + "/.well-known/openid-configuration");
    String body = getJson(discovery, authority);
    OIDCProviderMetadata metadata;
    try {
      metadata = OIDCProviderMetadata.parse(body);
    } catch (ParseException e) {
      throw unusable(authority, discovery + " is not an OpenID provider configuration");
    }
    String issuer = metadata.getIssuer().getValue();
    if (!stripSlash(issuer).equals(stripSlash(authority))) {
      // OpenID Connect Discovery 1.0, section 4.3: the issuer must be the authority itself.
      throw unusable(
          authority,
          "its configuration names the issuer \""
              + issuer
              + "\", not \""
              + authority
              + "\"; set the authority to the provider's exact issuer");
    }
    if (metadata.getAuthorizationEndpointURI() == null
        || metadata.getTokenEndpointURI() == null
        || metadata.getJWKSetURI() == null) {
      throw unusable(
          authority, "its configuration lacks the authorization, token or jwks_uri endpoint");
    }
    String keys = getJson(metadata.getJWKSetURI(), authority);
    JWKSet jwks;
    try {
      jwks = JWKSet.parse(keys);
    } catch (java.text.ParseException e) {
      throw unusable(authority, metadata.getJWKSetURI() + " is not a JSON Web Key Set");
    }
    return new Document(metadata, jwks, clock.instant());
  }

  private String getJson(URI uri, String authority) {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              HttpRequest.newBuilder(uri)
                  .timeout(TIMEOUT)
                  .header("Accept", "application/json")
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw unavailable(authority, "cannot fetch " + uri + ": " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable(authority, "interrupted while fetching " + uri);
    }
    if (response.statusCode() != 200) {
      throw unavailable(authority, uri + " answered HTTP " + response.statusCode());
    }
    return response.body();
  }

  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  static String describe(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CertPathBuilderException || t instanceof CertPathValidatorException) {
        return "its TLS certificate is not trusted by this node: import the CA certificate that"
            + " issued it with vigil protect import-cert FILE --trusted (it is then trusted at"
            + " once, with no restart)";
      }
      if (t instanceof CertificateException c
          && c.getMessage() != null
          && c.getMessage().startsWith("No ")
          && c.getMessage().contains("matching")) {
        return "its TLS certificate is issued for another host name (" + c.getMessage() + ")";
      }
    }
    return e.getMessage() == null || e.getMessage().isBlank()
        ? e.getClass()
            .getSimpleName()
            .replace("Exception", "")
            .replaceAll("([a-z])([A-Z])", "$1 $2")
            .toLowerCase(Locale.ROOT)
        : e.getMessage();
  }

  static SignInFailure unavailable(String authority, String detail) {
    return new SignInFailure(
        502,
        "provider_unavailable",
        "The identity provider at "
            + authority
            + " cannot be reached ("
            + detail
            + "). Try again later, or sign in with a Vigil user name and password.");
  }

  private static SignInFailure unusable(String authority, String detail) {
    return new SignInFailure(
        502,
        "provider_misconfigured",
        "The identity provider at "
            + authority
            + " cannot be used: "
            + detail
            + ". An administrator must correct the provider's authority.");
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }
}
