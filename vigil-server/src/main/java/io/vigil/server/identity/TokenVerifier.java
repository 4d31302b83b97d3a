package io.vigil.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Authenticator;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Verifies the API's bearer tokens: RS256 or ES256 signature by one of the provider's keys (current
 * or previous), in the algorithm that key was made for (a token cannot choose another), issuer,
 * audience {@value TokenSigner#AUDIENCE}, expiry and not-before with {@link #CLOCK_SKEW} of
 * tolerance. Every failure is a 401 that says which check failed; the token itself is never echoed.
 * Roles are taken from the token (see {@link TokenSigner}); unknown role ids are ignored, so a
 * token can never grant more than the roles this version knows.
 *
 * <p>A token that passed is remembered (at most {@value #CACHE_SIZE} of them, all forgotten when
 * that many are held) with its key id and expiry: a component sends the same token with every
 * heartbeat and event for minutes, and parsing it and checking its signature each time cost more
 * than the rest of a heartbeat. A remembered token is still refused once it expires, and once its
 * signing key is no longer one this provider verifies with.
 */
final class TokenVerifier implements Authenticator {

  static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

  static final int CACHE_SIZE = 10_000;

  /** A token that passed {@link #verify}: who it is for, the key that signed it, its expiry. */
  private record Verified(Principal principal, String kid, Instant expires) {}

  private final String issuer;
  private final SigningKeys keys;
  private final Clock clock;
  private final java.util.concurrent.ConcurrentHashMap<String, Verified> verified =
      new java.util.concurrent.ConcurrentHashMap<>();

  TokenVerifier(String issuer, SigningKeys keys, Clock clock) {
    this.issuer = issuer;
    this.keys = keys;
    this.clock = clock;
  }

  /**
   * Verifies a token for the API: {@link #verify} and the {@value IdpEndpoints#API_SCOPE} scope.
   */
  @Override
  public Principal authenticate(String bearerToken) {
    Principal principal = verify(bearerToken);
    if (!principal.scopes().contains(IdpEndpoints.API_SCOPE)) {
      throw ApiException.unauthorized(
          "The bearer token was granted without the \""
              + IdpEndpoints.API_SCOPE
              + "\" scope, so it cannot call the API. Request that scope.");
    }
    return principal;
  }

  /** RFC 9068 2.1: {@code at+jwt}, or the full media type {@code application/at+jwt}. */
  static boolean accessTokenType(com.nimbusds.jose.JOSEObjectType type) {
    if (type == null) {
      return false;
    }
    String t = type.getType().toLowerCase(java.util.Locale.ROOT);
    return t.equals("at+jwt") || t.equals("application/at+jwt");
  }

  /** Verifies type, signature, issuer, audience and validity period; any scope. */
  Principal verify(String bearerToken) {
    Verified known = verified.get(bearerToken);
    if (known != null) {
      if (clock.instant().isBefore(known.expires().plus(CLOCK_SKEW))
          && keys.verificationKey(known.kid()).isPresent()) {
        return known.principal();
      }
      verified.remove(bearerToken);
    }
    return check(bearerToken);
  }

  private Principal check(String bearerToken) {
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(bearerToken);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException | RuntimeException e) {
      throw ApiException.unauthorized(
          "The bearer token is malformed: it is not a signed JWT. Get a new token from"
              + " /idp/connect/token.");
    }
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    if (!SigningKeys.ALGORITHMS.contains(alg)) {
      throw ApiException.unauthorized(
          "The bearer token is signed with "
              + alg
              + "; only RS256 and ES256 tokens from this provider are accepted.");
    }
    if (!accessTokenType(jwt.getHeader().getType())) {
      throw ApiException.unauthorized(
          "The bearer token is not an access token (its typ is "
              + jwt.getHeader().getType()
              + ", not at+jwt): send the access_token of the token response.");
    }
    String kid = jwt.getHeader().getKeyID();
    Optional<JWK> key = kid == null ? Optional.empty() : keys.verificationKey(kid);
    if (key.isEmpty()) {
      throw ApiException.unauthorized(
          "The bearer token was signed by a key this provider does not know (it may be older than"
              + " the last two key rotations). Get a new token from /idp/connect/token.");
    }
    JWSAlgorithm keyAlg = SigningKeys.algorithmOf(key.get());
    if (!alg.equals(keyAlg)) {
      throw ApiException.unauthorized(
          "The bearer token says it is signed with "
              + alg
              + ", but its key "
              + kid
              + " was made for "
              + (keyAlg == null ? "no algorithm this provider accepts" : keyAlg)
              + ": it was altered or not issued by this provider.");
    }
    try {
      if (!jwt.verify(verifier(key.get()))) {
        throw ApiException.unauthorized(
            "The bearer token's signature is not valid: it was altered or not issued by this"
                + " provider.");
      }
    } catch (JOSEException e) {
      throw ApiException.unauthorized("The bearer token's signature cannot be checked.");
    }
    if (!issuer.equals(claims.getIssuer())) {
      throw ApiException.unauthorized(
          "The bearer token was issued by \""
              + claims.getIssuer()
              + "\", not by this provider (\""
              + issuer
              + "\").");
    }
    if (claims.getAudience() == null || !claims.getAudience().contains(TokenSigner.AUDIENCE)) {
      throw ApiException.unauthorized(
          "The bearer token is not meant for this API: its audience is "
              + claims.getAudience()
              + ", not \""
              + TokenSigner.AUDIENCE
              + "\". Send an access token, not an ID token.");
    }
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null || !now.isBefore(exp.toInstant().plus(CLOCK_SKEW))) {
      throw ApiException.unauthorized(
          "The bearer token has expired"
              + (exp == null ? "" : " (at " + exp.toInstant() + ")")
              + ". Get a new one from /idp/connect/token, or refresh it.");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) {
      throw ApiException.unauthorized(
          "The bearer token is not valid before " + nbf.toInstant() + "; check the clocks.");
    }
    try {
      String subject = claims.getSubject();
      String clientId = claims.getStringClaim("client_id");
      String username = claims.getStringClaim("preferred_username");
      List<String> roleIds = claims.getStringListClaim("roles");
      String scope = claims.getStringClaim("scope");
      if (subject == null || clientId == null) {
        throw ApiException.unauthorized("The bearer token lacks its subject or client id.");
      }
      Set<Role> roles =
          (roleIds == null ? List.<String>of() : roleIds)
              .stream().map(Role::fromId).flatMap(Optional::stream).collect(Collectors.toSet());
      Set<String> scopes =
          scope == null || scope.isBlank()
              ? Set.of()
              : Arrays.stream(scope.trim().split("\\s+")).collect(Collectors.toSet());
      Principal principal =
          new Principal(subject, username != null ? username : clientId, clientId, roles, scopes);
      if (verified.size() >= CACHE_SIZE) {
        verified.clear();
      }
      verified.put(bearerToken, new Verified(principal, kid, exp.toInstant()));
      return principal;
    } catch (ParseException e) {
      throw ApiException.unauthorized("The bearer token's claims have the wrong types.");
    }
  }

  /** A verifier for {@code key}, whose algorithm {@link SigningKeys#algorithmOf} has checked. */
  private static JWSVerifier verifier(JWK key) throws JOSEException {
    return key instanceof ECKey ec ? new ECDSAVerifier(ec) : new RSASSAVerifier((RSAKey) key);
  }
}
