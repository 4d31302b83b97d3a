package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jwt.JWTClaimsSet;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.http.ApiException;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestProtector;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TokenVerifierTest {

  private static final String ISSUER = "http://vigil.test:8080/idp";

  private final Database db = TestDatabases.h2();
  private final SigningKeys keys =
      new SigningKeys(
          Fence.unfenced(db.jdbi()), new TestProtector(), Clock.systemUTC(), Duration.ofDays(90));
  private final TokenSigner signer =
      new TokenSigner(ISSUER, keys, Clock.systemUTC(), Duration.ofMinutes(5));
  private final TokenVerifier verifier = new TokenVerifier(ISSUER, keys, Clock.systemUTC());

  TokenVerifierTest() {
    db.jdbi().useHandle(h -> keys.ensureFirst(h, keys.newKey()));
    keys.reload();
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void anAccessTokenOfThisProviderIsAccepted() {
    String token =
        signer.accessToken(
            "u1", "admin", "vigil-cli", List.of("administrator"), "vigil.api", false);
    assertThat(verifier.verify(token).name()).isEqualTo("admin");
  }

  /** RFC 9068 2.1: a JWT this provider signed that is not typed at+jwt is not an access token. */
  @Test
  void aSignedTokenWithTheAudienceButNotTypedAsAnAccessTokenIsRefused() {
    for (JOSEObjectType type : new JOSEObjectType[] {JOSEObjectType.JWT, null}) {
      String token = signer.sign(claims(), type);
      assertThatThrownBy(() -> verifier.verify(token))
          .as(String.valueOf(type))
          .isInstanceOf(ApiException.class)
          .hasMessageContaining("not an access token");
    }
    assertThat(verifier.verify(signer.sign(claims(), new JOSEObjectType("application/at+jwt"))))
        .isNotNull();
  }

  @Test
  void aTokenThatPassedOnceIsStillRefusedWhenItExpires() {
    io.vigil.server.testing.MutableClock clock =
        new io.vigil.server.testing.MutableClock(Instant.now());
    TokenVerifier remembering = new TokenVerifier(ISSUER, keys, clock);
    String token = signer.accessToken("c1", "rs1", "rs1", List.of("component"), "vigil.api", false);
    assertThat(remembering.verify(token).clientId()).isEqualTo("rs1");
    assertThat(remembering.verify(token).clientId()).as("remembered").isEqualTo("rs1");

    clock.advance(Duration.ofMinutes(5).plus(TokenVerifier.CLOCK_SKEW).plusSeconds(1));

    assertThatThrownBy(() -> remembering.verify(token))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("expired");
  }

  @Test
  void aCopyOfAPassedTokenWithAnotherSignatureIsChecked() {
    String token = signer.accessToken("c1", "rs1", "rs1", List.of("component"), "vigil.api", false);
    verifier.verify(token);
    String forged =
        token.substring(0, token.lastIndexOf('.') + 1)
            + "AAAA"
            + token.substring(token.lastIndexOf('.') + 5);
    assertThatThrownBy(() -> verifier.verify(forged))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("signature");
  }

  @Test
  void tokenIdsAreDistinctVersion4Uuids() {
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < 1000; i++) {
      java.util.UUID id = java.util.UUID.fromString(TokenSigner.tokenId());
      assertThat(id.version()).isEqualTo(4);
      assertThat(id.variant()).isEqualTo(2);
      ids.add(id.toString());
    }
    assertThat(ids).hasSize(1000);
  }

  private static JWTClaimsSet claims() {
    return claims(Instant.now());
  }

  /** An access token's claims from the test issuer, issued at {@code now} for 300 s. */
  static JWTClaimsSet claims(Instant now) {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .subject("u1")
        .audience(TokenSigner.AUDIENCE)
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(300)))
        .claim("client_id", "vigil-cli")
        .claim("scope", "vigil.api")
        .build();
  }
}
