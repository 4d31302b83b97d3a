package io.vigil.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;

/**
 * Signs access tokens (RFC 9068 JWTs for audience {@value #AUDIENCE}) and ID tokens with the
 * current signing key. Access tokens carry the caller's roles: they live only minutes, so a role
 * change takes effect at the next refresh (which re-reads the user) rather than needing a database
 * read on every API call.
 */
final class TokenSigner {

  static final String AUDIENCE = "vigil-api";

  /**
   * The claim (and token response field) that marks a token of an administrator who must enrol a
   * second factor before its roles count (see {@code MfaService#enrolmentRequired}).
   */
  static final String ENROLMENT_CLAIM = "mfa_enrolment_required";

  private final String issuer;
  private final SigningKeys keys;
  private final Clock clock;
  private final Duration accessLifetime;

  TokenSigner(String issuer, SigningKeys keys, Clock clock, Duration accessLifetime) {
    this.issuer = issuer;
    this.keys = keys;
    this.clock = clock;
    this.accessLifetime = accessLifetime;
  }

  Duration accessLifetime() {
    return accessLifetime;
  }

  /**
   * @param username the user's name, or null for a client acting for itself
   * @param enrolmentOnly marks the token {@value #ENROLMENT_CLAIM}; its roles should then be empty
   */
  String accessToken(
      String subject,
      String username,
      String clientId,
      List<String> roles,
      String scope,
      boolean enrolmentOnly) {
    Instant now = clock.instant();
    JWTClaimsSet.Builder claims =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .subject(subject)
            .audience(AUDIENCE)
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plus(accessLifetime)))
            .jwtID(UUID.randomUUID().toString())
            .claim("client_id", clientId)
            .claim("scope", scope)
            .claim("roles", roles);
    if (username != null) {
      claims.claim("preferred_username", username);
    }
    if (enrolmentOnly) {
      claims.claim(ENROLMENT_CLAIM, true);
    }
    return sign(claims.build(), new JOSEObjectType("at+jwt"));
  }

  /**
   * @param amr how the user proved who it is (RFC 8176: {@code pwd}, {@code otp}; {@code ext} for
   *     an external provider), or null when not known (ID tokens issued on refresh)
   */
  String idToken(User user, String clientId, String nonce, Instant authTime, List<String> amr) {
    Instant now = clock.instant();
    JWTClaimsSet.Builder claims =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .subject(user.id().toString())
            .audience(clientId)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plus(accessLifetime)))
            .claim("auth_time", authTime.getEpochSecond())
            .claim("preferred_username", user.username())
            .claim("name", user.displayName());
    if (nonce != null) {
      claims.claim("nonce", nonce);
    }
    if (amr != null && !amr.isEmpty()) {
      claims.claim("amr", amr);
    }
    return sign(claims.build(), JOSEObjectType.JWT);
  }

  String sign(JWTClaimsSet claims, JOSEObjectType type) {
    RSAKey key = keys.current();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(type).build(),
            claims);
    try {
      jwt.sign(new RSASSASigner(key));
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot sign a token with key " + key.getKeyID(), e);
    }
    return jwt.serialize();
  }
}
