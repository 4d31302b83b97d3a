package io.vigil.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import io.vigil.server.security.NativeCrypto;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
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
            .jwtID(tokenId())
            .claim("client_id", clientId)
            .claim("scope", scope)
            .claim("roles", roles);
    if (username != null) {
      claims.claim("preferred_username", username);
    }
    if (enrolmentOnly) {
      claims.claim(ENROLMENT_CLAIM, true);
    }
    return sign(claims.build(), AT_JWT);
  }

  /**
   * Per request thread: {@code UUID.randomUUID()} draws from one process-wide {@code NativePRNG},
   * whose lock request threads queued on under load (docs/performance.md).
   */
  private static final ThreadLocal<SecureRandom> RANDOM =
      ThreadLocal.withInitial(TokenSigner::newRandom);

  /** A random (version 4) UUID for {@code jti}. */
  static String tokenId() {
    SecureRandom random = RANDOM.get();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(high, low).toString();
  }

  private static SecureRandom newRandom() {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
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

  /**
   * Signs {@code claims} as a compact JWS (RS256) with the current key. The key's signer and the
   * encoded headers of the two token types are made once per key, not per token.
   */
  String sign(JWTClaimsSet claims, JOSEObjectType type) {
    KeySigner k = keySigner(keys.current());
    String header;
    if (AT_JWT.equals(type)) {
      header = k.accessHeader();
    } else if (JOSEObjectType.JWT.equals(type)) {
      header = k.jwtHeader();
    } else {
      header = header(k.kid(), type).toBase64URL().toString();
    }
    String signingInput =
        header + "." + Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8));
    try {
      Base64URL signature =
          k.signer().sign(HEADER_FOR_SIGNER, signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + signature;
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot sign a token with key " + k.kid(), e);
    }
  }

  private static final JOSEObjectType AT_JWT = new JOSEObjectType("at+jwt");

  /** The signer reads only the algorithm of the header it is given; the encoded one is ours. */
  private static final JWSHeader HEADER_FOR_SIGNER = new JWSHeader(JWSAlgorithm.RS256);

  /** A signing key made ready: its signer on the signing provider and its encoded headers. */
  private record KeySigner(
      String kid, RSASSASigner signer, String accessHeader, String jwtHeader) {}

  private volatile KeySigner keySigner;

  private KeySigner keySigner(RSAKey key) {
    KeySigner k = keySigner;
    if (k != null && k.kid().equals(key.getKeyID())) {
      return k;
    }
    k =
        new KeySigner(
            key.getKeyID(),
            signer(key),
            header(key.getKeyID(), AT_JWT).toBase64URL().toString(),
            header(key.getKeyID(), JOSEObjectType.JWT).toBase64URL().toString());
    keySigner = k;
    return k;
  }

  private static JWSHeader header(String kid, JOSEObjectType type) {
    return new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).type(type).build();
  }

  /**
   * An RS256 signer for {@code key} on the signing provider ({@link NativeCrypto#signing()}). The
   * private key is translated into that provider's own key object once, so that each signature does
   * not convert it again.
   */
  private static RSASSASigner signer(RSAKey key) {
    Optional<Provider> provider = NativeCrypto.signing();
    try {
      PrivateKey privateKey = key.toPrivateKey();
      if (provider.isPresent()) {
        try {
          privateKey =
              (PrivateKey) KeyFactory.getInstance("RSA", provider.get()).translateKey(privateKey);
        } catch (GeneralSecurityException e) {
          // Its signature still accepts the JDK's key object; only slower.
        }
      }
      RSASSASigner signer = new RSASSASigner(privateKey);
      provider.ifPresent(p -> signer.getJCAContext().setProvider(p));
      return signer;
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot read signing key " + key.getKeyID(), e);
    }
  }
}
