package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.http.ApiException;
import io.vigil.server.identity.external.ClientAssertionKeys;
import io.vigil.server.security.NativeCrypto;
import io.vigil.server.testing.MutableClock;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestProtector;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code Identity.SigningAlgorithm}: keys of either algorithm sign and verify, a token cannot pick
 * an algorithm its key was not made for, and switching the algorithm rotates like a period does.
 */
class SigningAlgorithmTest {

  private static final String ISSUER = "http://vigil.test:8080/idp";
  private static final Duration ROTATION = Duration.ofDays(30);

  private final Database db = TestDatabases.h2();
  private final Fence fence = Fence.unfenced(db.jdbi());
  private final TestProtector protector = new TestProtector();
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @AfterEach
  void close() {
    db.close();
    NativeCrypto.configure(
        !System.getenv().getOrDefault(NativeCrypto.ENV, "").strip().equalsIgnoreCase("false"));
  }

  /** Keys for {@code alg} on this test's database, the first one installed. */
  private SigningKeys keys(JWSAlgorithm alg) {
    SigningKeys keys = new SigningKeys(fence, protector, clock, ROTATION, alg);
    db.jdbi().useHandle(h -> keys.ensureFirst(h, keys.newKey()));
    keys.reload();
    return keys;
  }

  private TokenSigner signer(SigningKeys keys) {
    return new TokenSigner(ISSUER, keys, clock, Duration.ofMinutes(5));
  }

  private TokenVerifier verifier(SigningKeys keys) {
    return new TokenVerifier(ISSUER, keys, clock);
  }

  private static String accessToken(TokenSigner signer) {
    return signer.accessToken(
        "u1", "admin", "vigil-cli", List.of("administrator"), "vigil.api", false);
  }

  @Test
  void anEs256NodePublishesAnEcKeyAndItsTokensVerify() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.ES256);

    List<JWK> published = keys.publicKeys();
    assertThat(published).hasSize(1);
    JWK key = published.get(0);
    assertThat(key).isInstanceOf(ECKey.class);
    assertThat(key.getKeyType()).isEqualTo(KeyType.EC);
    assertThat(((ECKey) key).getCurve()).isEqualTo(Curve.P_256);
    assertThat(key.getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(key.getKeyUse()).isEqualTo(KeyUse.SIGNATURE);
    assertThat(key.isPrivate()).isFalse();
    assertThat(keys.publishedAlgorithms()).containsExactly(JWSAlgorithm.ES256);

    String token = accessToken(signer(keys));
    SignedJWT jwt = SignedJWT.parse(token);
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(jwt.getHeader().getKeyID()).isEqualTo(key.getKeyID());
    // The JWS form of an ES256 signature: R || S, 64 bytes, not DER.
    assertThat(jwt.getSignature().decode()).hasSize(64);
    assertThat(jwt.verify(new ECDSAVerifier((ECKey) key))).isTrue();
    assertThat(verifier(keys).verify(token).name()).isEqualTo("admin");
  }

  @Test
  void anRs256NodeStillPublishesAnRsaKeyByDefault() throws Exception {
    SigningKeys keys = new SigningKeys(fence, protector, clock, ROTATION); // the default algorithm
    db.jdbi().useHandle(h -> keys.ensureFirst(h, keys.newKey()));
    keys.reload();

    assertThat(keys.algorithm()).isEqualTo(JWSAlgorithm.RS256);
    assertThat(keys.publicKeys()).singleElement().isInstanceOf(RSAKey.class);
    assertThat(keys.publishedAlgorithms()).containsExactly(JWSAlgorithm.RS256);
    String token = accessToken(signer(keys));
    assertThat(SignedJWT.parse(token).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
    assertThat(verifier(keys).verify(token).name()).isEqualTo("admin");
  }

  /** ES256 signs on the native provider where it loads, and on the JDK's when it is turned off. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void es256TokensVerifyWithTheNativeProviderOnAndOff(boolean nativeCrypto) throws Exception {
    NativeCrypto.configure(nativeCrypto);
    SigningKeys keys = keys(JWSAlgorithm.ES256);
    TokenVerifier verifier = verifier(keys);
    // Where the native provider loads it signs ES256 too, not only RS256.
    assertThat(signer(keys).signingProvider())
        .isEqualTo(NativeCrypto.signing().map(java.security.Provider::getName).orElse(null));
    for (int i = 0; i < 20; i++) {
      String token = accessToken(signer(keys));
      assertThat(verifier.verify(token).name()).isEqualTo("admin");
      assertThat(SignedJWT.parse(token).verify(new ECDSAVerifier((ECKey) keys.publicKeys().get(0))))
          .isTrue();
    }
    // And RS256 on the same provider, as before.
    SigningKeys rsa = new SigningKeys(fence, protector, clock, ROTATION, JWSAlgorithm.RS256);
    clock.advance(Duration.ofSeconds(1));
    String token = accessToken(signer(rsa));
    assertThat(SignedJWT.parse(token).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
    assertThat(verifier(rsa).verify(token).name()).isEqualTo("admin");
  }

  @Test
  void aTokenWhoseHeaderSaysRs256ButWhoseKidIsAnEcKeyIsRefused() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.ES256);
    String kid = keys.current().getKeyID();
    // Signed with some RSA key, naming the provider's EC key.
    RSAKey other = new RSAKeyGenerator(2048).keyID(kid).generate();
    SignedJWT forged = new SignedJWT(header(JWSAlgorithm.RS256, kid), claims());
    forged.sign(new RSASSASigner(other));

    assertThatThrownBy(() -> verifier(keys).verify(forged.serialize()))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("says it is signed with RS256")
        .hasMessageContaining("made for ES256");
  }

  @Test
  void aTokenWhoseHeaderSaysEs256ButWhoseKidIsAnRsaKeyIsRefused() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.RS256);
    String kid = keys.current().getKeyID();
    ECKey other = new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    SignedJWT forged = new SignedJWT(header(JWSAlgorithm.ES256, kid), claims());
    forged.sign(new ECDSASigner(other));

    assertThatThrownBy(() -> verifier(keys).verify(forged.serialize()))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("says it is signed with ES256")
        .hasMessageContaining("made for RS256");
  }

  @Test
  void anEs256HeaderOverTheProvidersOwnRs256SignatureIsRefused() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.RS256);
    String genuine = accessToken(signer(keys));
    SignedJWT jwt = SignedJWT.parse(genuine);
    String relabelled =
        header(JWSAlgorithm.ES256, jwt.getHeader().getKeyID()).toBase64URL()
            + "."
            + jwt.getPayload().toBase64URL()
            + "."
            + jwt.getSignature();

    assertThatThrownBy(() -> verifier(keys).verify(relabelled))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("made for RS256");
  }

  @Test
  void noneAndHs256TokensAreRefusedWhateverTheKey() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.ES256);
    String kid = keys.current().getKeyID();
    SignedJWT hs = new SignedJWT(header(JWSAlgorithm.HS256, kid), claims());
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    hs.sign(new MACSigner(secret));
    assertThatThrownBy(() -> verifier(keys).verify(hs.serialize()))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("signed with HS256; only RS256 and ES256");

    String none =
        Base64URL.encode(
                "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\""
                    + kid
                    + "\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + claims().toPayload().toBase64URL()
            + ".";
    assertThatThrownBy(() -> verifier(keys).verify(none))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("malformed");
  }

  @Test
  void switchingFromRs256ToEs256RotatesAtTheNextUseAndEarlierTokensStillVerify() throws Exception {
    SigningKeys rsa = keys(JWSAlgorithm.RS256);
    String rsaKid = rsa.current().getKeyID();
    String before = accessToken(signer(rsa));
    String idToken = signer(rsa).sign(claims(), JOSEObjectType.JWT);

    // The operator switches the setting; the node starts again with it.
    clock.advance(Duration.ofMinutes(1));
    SigningKeys ec = new SigningKeys(fence, protector, clock, ROTATION, JWSAlgorithm.ES256);
    JWK current = ec.current();

    assertThat(current).isInstanceOf(ECKey.class);
    assertThat(current.getKeyID()).isNotEqualTo(rsaKid);
    List<JWK> published = ec.publicKeys();
    assertThat(published).extracting(JWK::getKeyID).containsExactly(current.getKeyID(), rsaKid);
    assertThat(published.get(1)).isInstanceOf(RSAKey.class);
    assertThat(ec.publishedAlgorithms()).containsExactly(JWSAlgorithm.ES256, JWSAlgorithm.RS256);
    assertThat(verifier(ec).verify(before).name()).isEqualTo("admin");
    assertThat(
            SignedJWT.parse(idToken)
                .verify(new com.nimbusds.jose.crypto.RSASSAVerifier((RSAKey) published.get(1))))
        .isTrue();
    String after = accessToken(signer(ec));
    assertThat(SignedJWT.parse(after).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    assertThat(verifier(ec).verify(after).name()).isEqualTo("admin");
    assertThat(retired()).isEqualTo(1);

    // Once: the key now fits the setting, so the next call keeps it.
    assertThat(ec.current().getKeyID()).isEqualTo(current.getKeyID());
    assertThat(count()).isEqualTo(2);
  }

  @Test
  void twoNodesSwitchingAtOnceInstallOneNewKey() throws Exception {
    keys(JWSAlgorithm.RS256);
    SigningKeys a = new SigningKeys(fence, protector, clock, ROTATION, JWSAlgorithm.ES256);
    SigningKeys b = new SigningKeys(fence, protector, clock, ROTATION, JWSAlgorithm.ES256);
    // Both saw the RSA key as current before either rotated.
    a.reload();
    b.reload();

    JWK fromA = a.current();
    JWK fromB = b.current();

    assertThat(fromB.getKeyID()).isEqualTo(fromA.getKeyID());
    assertThat(count()).isEqualTo(2);
  }

  @Test
  void es256KeysRotateAfterThePeriodAndThePreviousOneStillVerifies() throws Exception {
    SigningKeys keys = keys(JWSAlgorithm.ES256);
    String first = keys.current().getKeyID();
    clock.advance(ROTATION.minusMinutes(1));
    String token = accessToken(signer(keys));
    assertThat(SignedJWT.parse(token).getHeader().getKeyID()).isEqualTo(first);

    clock.advance(Duration.ofMinutes(2));
    JWK second = keys.current();

    assertThat(second).isInstanceOf(ECKey.class);
    assertThat(second.getKeyID()).isNotEqualTo(first);
    assertThat(keys.publicKeys())
        .extracting(JWK::getKeyID)
        .containsExactly(second.getKeyID(), first);
    assertThat(keys.publicKeys()).allMatch(k -> k instanceof ECKey);
    assertThat(keys.publishedAlgorithms()).containsExactly(JWSAlgorithm.ES256);
    // Still within its lifetime (5 minutes from one minute before the rotation).
    assertThat(verifier(keys).verify(token).name()).isEqualTo("admin");
    assertThat(SignedJWT.parse(accessToken(signer(keys))).getHeader().getKeyID())
        .isEqualTo(second.getKeyID());
  }

  @Test
  void anEs256ProviderPublishesItsEcKeyInJwksAndDiscoveryAndItsTokensCallTheApi() throws Exception {
    try (IdpFixture f =
        new IdpFixture(
            IdpFixture.ADMIN_PASSWORD,
            IdpFixture.memoryDatabase(),
            ClientAssertionKeys.none(),
            IdpFixture.runtimeTls(),
            s -> s.identity.signingAlgorithm = "ES256")) {
      JsonNode meta = IdpFixture.read(f.get("/idp/.well-known/openid-configuration", null));
      assertThat(meta.get("id_token_signing_alg_values_supported").toString())
          .isEqualTo("[\"ES256\"]");
      JsonNode key = IdpFixture.read(f.get("/idp/.well-known/jwks.json", null)).get("keys").get(0);
      assertThat(key.get("kty").asText()).isEqualTo("EC");
      assertThat(key.get("crv").asText()).isEqualTo("P-256");
      assertThat(key.get("alg").asText()).isEqualTo("ES256");
      assertThat(key.get("use").asText()).isEqualTo("sig");
      assertThat(key.has("d")).isFalse();

      String token = f.adminToken();
      assertThat(SignedJWT.parse(token).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      assertThat(SignedJWT.parse(token).getHeader().getKeyID()).isEqualTo(key.get("kid").asText());
      assertThat(f.get("/api/v1/users", token).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aProviderStartedWithAnotherAlgorithmRotatesAtStartAndKeepsEarlierTokensValid()
      throws Exception {
    try (IdpFixture f = new IdpFixture(IdpFixture.ADMIN_PASSWORD)) {
      String token = f.adminToken();
      f.settings.identity.signingAlgorithm = "ES256";
      IdentityProvider switched = f.newProvider(null);
      switched.start();

      assertThat(f.count("identity_signing_keys")).as("rotated at start").isEqualTo(2);
      f.http.close();
      f.idp = switched;
      f.http = f.serve(switched);

      JsonNode keys = IdpFixture.read(f.get("/idp/.well-known/jwks.json", null)).get("keys");
      assertThat(keys.findValuesAsText("kty")).containsExactly("EC", "RSA");
      assertThat(keys.findValuesAsText("alg")).containsExactly("ES256", "RS256");
      JsonNode meta = IdpFixture.read(f.get("/idp/.well-known/openid-configuration", null));
      assertThat(meta.get("id_token_signing_alg_values_supported").toString())
          .isEqualTo("[\"ES256\",\"RS256\"]");
      assertThat(f.get("/api/v1/users", token).statusCode()).isEqualTo(200);
      String fresh = f.adminToken();
      assertThat(SignedJWT.parse(fresh).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      assertThat(f.get("/api/v1/users", fresh).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void keysStoredWithoutAnAlgFollowTheirKeyType() throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("r").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("e").generate();
    ECKey p384 = new ECKeyGenerator(Curve.P_384).keyID("p").generate();
    assertThat(SigningKeys.algorithmOf(rsa)).isEqualTo(JWSAlgorithm.RS256);
    assertThat(SigningKeys.algorithmOf(ec)).isEqualTo(JWSAlgorithm.ES256);
    assertThat(SigningKeys.algorithmOf(p384)).isNull();
    // An alg that does not fit the key fits nothing.
    RSAKey mislabelled =
        new RSAKeyGenerator(2048).keyID("m").algorithm(JWSAlgorithm.ES256).generate();
    assertThat(SigningKeys.algorithmOf(mislabelled)).isNull();
  }

  @Test
  void anAlgorithmOtherThanRs256OrEs256IsRefused() {
    assertThatThrownBy(() -> new SigningKeys(fence, protector, clock, ROTATION, JWSAlgorithm.EdDSA))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "Identity.SigningAlgorithm EdDSA is not supported: use RS256 or ES256");
  }

  private long count() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT COUNT(*) FROM identity_signing_keys")
                    .mapTo(Long.class)
                    .one());
  }

  private long retired() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT COUNT(*) FROM identity_signing_keys WHERE retired_at IS NOT NULL")
                    .mapTo(Long.class)
                    .one());
  }

  private static JWSHeader header(JWSAlgorithm alg, String kid) {
    return new JWSHeader.Builder(alg).keyID(kid).type(new JOSEObjectType("at+jwt")).build();
  }

  private JWTClaimsSet claims() {
    return TokenVerifierTest.claims(clock.instant());
  }
}
