package io.vigil.server.identity;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
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
import java.util.concurrent.Semaphore;

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
   * Signs {@code claims} as a compact JWS with the current key, in the key's algorithm (RS256 or
   * ES256). The key's signer and the encoded headers of the two token types are made once per key,
   * not per token.
   */
  String sign(JWTClaimsSet claims, JOSEObjectType type) {
    KeySigner k = keySigner(keys.current());
    String header;
    if (AT_JWT.equals(type)) {
      header = k.accessHeader();
    } else if (JOSEObjectType.JWT.equals(type)) {
      header = k.jwtHeader();
    } else {
      header = header(k.kid(), k.signerHeader().getAlgorithm(), type).toBase64URL().toString();
    }
    String signingInput =
        header + "." + Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8));
    SIGNERS.acquireUninterruptibly();
    try {
      Base64URL signature =
          k.signer().sign(k.signerHeader(), signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + signature;
    } catch (JOSEException e) {
      throw new IllegalStateException("Cannot sign a token with key " + k.kid(), e);
    } finally {
      SIGNERS.release();
    }
  }

  /**
   * At most two signatures per processor at a time, the others waiting in arrival order. A
   * signature is nothing but computation (an RS256 one about a quarter of a millisecond of a core
   * with the native provider), so many more signers than processors only share them in time slices
   * and stretch every token's latency; one per processor leaves a core idle whenever a signer is
   * preempted by the rest of the node's work. Two per processor gave the highest rate and a quarter
   * of the tail (docs/performance.md).
   */
  private static final Semaphore SIGNERS =
      new Semaphore(2 * Runtime.getRuntime().availableProcessors(), true);

  private static final JOSEObjectType AT_JWT = new JOSEObjectType("at+jwt");

  /**
   * A signing key made ready: its signer on the signing provider, the header the signer is given
   * (it reads only the algorithm from it; the encoded headers are ours) and the encoded headers.
   */
  private record KeySigner(
      String kid,
      JWSSigner signer,
      JWSHeader signerHeader,
      String accessHeader,
      String jwtHeader) {}

  private volatile KeySigner keySigner;

  /**
   * The name of the provider that signs with the current key, or null for the JDK's (whichever of
   * its providers the algorithm finds first).
   */
  String signingProvider() {
    Provider p = keySigner(keys.current()).signer().getJCAContext().getProvider();
    return p == null ? null : p.getName();
  }

  private KeySigner keySigner(JWK key) {
    KeySigner k = keySigner;
    if (k != null && k.kid().equals(key.getKeyID())) {
      return k;
    }
    JWSAlgorithm alg = SigningKeys.algorithmOf(key);
    if (alg == null) {
      throw new IllegalStateException(
          "Signing key " + key.getKeyID() + " fits neither RS256 nor ES256: " + key.getKeyType());
    }
    k =
        new KeySigner(
            key.getKeyID(),
            signer(key, alg),
            new JWSHeader(alg),
            header(key.getKeyID(), alg, AT_JWT).toBase64URL().toString(),
            header(key.getKeyID(), alg, JOSEObjectType.JWT).toBase64URL().toString());
    keySigner = k;
    return k;
  }

  private static JWSHeader header(String kid, JWSAlgorithm alg, JOSEObjectType type) {
    return new JWSHeader.Builder(alg).keyID(kid).type(type).build();
  }

  /**
   * A signer for {@code key} in {@code alg} on the signing provider ({@link
   * NativeCrypto#signing()}) when it signs with that key, else on the JDK's. The private key is
   * translated into that provider's own key object once, so that each signature does not convert it
   * again. ES256 signatures come out in the JWS form (R || S), which Nimbus makes of the provider's
   * DER.
   */
  private static JWSSigner signer(JWK key, JWSAlgorithm alg) {
    Optional<Provider> provider = NativeCrypto.signing();
    if (provider.isPresent()) {
      try {
        JWSSigner signer = signer(key, alg, provider.get());
        // A trial signature: a provider that cannot sign with this key is left out, not every
        // token request failed.
        signer.sign(new JWSHeader(alg), new byte[] {0});
        return signer;
      } catch (JOSEException | GeneralSecurityException | RuntimeException e) {
        // The JDK's provider signs instead; only slower.
      }
    }
    try {
      return signer(key, alg, null);
    } catch (JOSEException | GeneralSecurityException e) {
      throw new IllegalStateException("Cannot read signing key " + key.getKeyID(), e);
    }
  }

  /** A signer on {@code provider}, or on the JDK's when it is null. */
  private static JWSSigner signer(JWK key, JWSAlgorithm alg, Provider provider)
      throws JOSEException, GeneralSecurityException {
    boolean ec = JWSAlgorithm.ES256.equals(alg);
    PrivateKey privateKey = ec ? ((ECKey) key).toECPrivateKey() : ((RSAKey) key).toPrivateKey();
    if (provider != null) {
      try {
        privateKey =
            (PrivateKey)
                KeyFactory.getInstance(ec ? "EC" : "RSA", provider).translateKey(privateKey);
      } catch (GeneralSecurityException e) {
        // Its signature still accepts the JDK's key object; only slower.
      }
    }
    JWSSigner signer = ec ? new ECDSASigner(privateKey, Curve.P_256) : new RSASSASigner(privateKey);
    if (provider != null) {
      signer.getJCAContext().setProvider(provider);
    }
    return signer;
  }
}
