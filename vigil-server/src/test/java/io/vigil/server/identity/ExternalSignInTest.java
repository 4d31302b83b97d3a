package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.http.HttpServer;
import io.vigil.server.identity.external.ClientAssertionKeys;
import java.math.BigInteger;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.Headers;
import okhttp3.mockwebserver.RecordedRequest;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Sign-in through a real OpenID Connect provider (mock-oauth2-server on loopback), end to end over
 * HTTP, with every redirect followed by hand.
 */
class ExternalSignInTest {

  static final String ISSUER_ID = "idp1";
  static final String CLIENT_ID = "vigil-at-idp1";
  static final String SECRET = "provider-secret-7f3a9c1e5b";

  MockOAuth2Server mock;
  IdpFixture f;
  String admin;
  KeyPair clientKey;
  X509Certificate clientCertificate;
  String thumbprint;
  ListAppender<ILoggingEvent> logs;
  final ForgedTokenResponse forged = new ForgedTokenResponse();

  /** Answers the next token request with a body of the test's making instead of the provider's. */
  static final class ForgedTokenResponse implements Route {
    volatile String body;

    @Override
    public boolean match(OAuth2HttpRequest request) {
      return body != null && request.getUrl().encodedPath().endsWith("/token");
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
      String answer = body;
      body = null;
      return new OAuth2HttpResponse(
          Headers.of("Content-Type", "application/json"), 200, answer, null);
    }
  }

  @BeforeEach
  void start() throws Exception {
    logs = new ListAppender<>();
    logs.start();
    root().addAppender(logs);
    mock = new MockOAuth2Server(forged);
    mock.start();
    generateClientCertificate();
    f =
        new IdpFixture(
            ADMIN_PASSWORD,
            t ->
                t.equals(thumbprint)
                    ? Optional.of(
                        new ClientAssertionKeys.KeyAndCertificate(
                            clientKey.getPrivate(), clientCertificate))
                    : Optional.empty());
    admin = f.adminToken();
  }

  @AfterEach
  void stop() {
    mock.shutdown();
    f.close();
    root().detachAppender(logs);
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  @Test
  void externalSignInGrantsRolesByClaimRulesAndReevaluatesThemAtEverySignIn() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_post");
    String operatorRule = rule("idp1", "groups", "vms-operators", "operator");
    rule("idp1", "groups", "vms-viewers", "viewer");

    enqueue(
        "sub-olga",
        Map.of(
            "preferred_username",
            "olga",
            "name",
            "Olga K",
            "groups",
            List.of("vms-operators", "staff")),
        3600);
    ExternalLogin login = new ExternalLogin(f);
    JsonNode tokens = login.redeem(login.signIn("Contoso ID"));
    JWTClaimsSet access = SignedJWT.parse(tokens.get("access_token").asText()).getJWTClaimsSet();
    assertThat(access.getStringListClaim("roles")).containsExactly("operator");
    assertThat(access.getStringClaim("preferred_username")).isEqualTo("olga");
    JWTClaimsSet id = SignedJWT.parse(tokens.get("id_token").asText()).getJWTClaimsSet();
    assertThat(id.getStringClaim("nonce")).isEqualTo("console-nonce");
    // The token works against the API within the operator's permissions.
    assertThat(f.get("/api/v1/users", tokens.get("access_token").asText()).statusCode())
        .isEqualTo(403);

    String userId = access.getSubject();
    assertThat(
            new io.vigil.server.audit.AuditLog(f.db.jdbi())
                .query(null, "user", userId, 100)
                .items())
        .anySatisfy(
            e -> {
              assertThat(e.action()).isEqualTo("user.signin");
              assertThat(e.actor()).isEqualTo("olga");
              assertThat(e.after().toString()).contains("\"provider\":\"idp1\"");
            });
    JsonNode user = read(f.get("/api/v1/users/" + userId, admin));
    assertThat(user.get("provider").asText()).isEqualTo("idp1");
    assertThat(user.get("displayName").asText()).isEqualTo("Olga K");
    assertThat(user.get("roles")).isEmpty();
    assertThat(user.get("effectiveRoles").toString()).isEqualTo("[\"operator\"]");
    assertThat(user.get("roleSources").get(0).get("source").asText()).isEqualTo("rule");
    assertThat(user.get("roleSources").get(0).get("ruleId").asText()).isEqualTo(operatorRule);
    assertThat(user.get("roleSources").get(0).get("value").asText()).isEqualTo("vms-operators");

    // An administrator gives a role directly; it survives the next sign-in.
    HttpResponse<String> patched =
        f.json(
            "PATCH",
            "/api/v1/users/" + userId,
            admin,
            "{\"roles\":[\"component\"]}",
            Map.of("If-Match", "\"" + user.get("version").asText() + "\""));
    assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);

    // Second sign-in: the provider now says she is a viewer, not an operator.
    enqueue(
        "sub-olga", Map.of("preferred_username", "olga", "groups", List.of("vms-viewers")), 3600);
    ExternalLogin again = new ExternalLogin(f);
    JsonNode second = again.redeem(again.signIn("Contoso ID"));
    JWTClaimsSet access2 = SignedJWT.parse(second.get("access_token").asText()).getJWTClaimsSet();
    assertThat(access2.getSubject()).isEqualTo(userId);
    assertThat(access2.getStringListClaim("roles"))
        .containsExactlyInAnyOrder("component", "viewer");
    JsonNode after = read(f.get("/api/v1/users/" + userId, admin));
    assertThat(after.get("roleSources").toString())
        .contains("{\"role\":\"component\",\"source\":\"direct\"}")
        .contains("\"role\":\"viewer\",\"source\":\"rule\"")
        .doesNotContain("operator");
    assertThat(f.count("users")).isEqualTo(2);
    // An external user has no password to sign in with or to set.
    assertThat(f.passwordGrant("olga", "", null).statusCode()).isEqualTo(400);
    HttpResponse<String> password =
        f.json(
            "PUT",
            "/api/v1/users/" + userId + "/password",
            admin,
            "{\"password\":\"a long enough secret\"}",
            Map.of());
    assertThat(password.statusCode()).isEqualTo(409);
    assertThat(read(password).get("code").asText()).isEqualTo("external_user");
  }

  @Test
  void signInPageOffersOnlyEnabledProviders() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    provider("other", "Fabrikam <SSO>", "client_secret_basic");
    assertThat(new ExternalLogin(f).providerLinks())
        .containsOnlyKeys("Contoso ID", "Fabrikam &lt;SSO&gt;");
    patch("other", "{\"enabled\":false}");
    assertThat(new ExternalLogin(f).providerLinks()).containsOnlyKeys("Contoso ID");
  }

  @Test
  void promptForLoginAndPkceAndNonceAreSentToTheProvider() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    patch("idp1", "{\"promptForLogin\":true}");
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    Map<String, String> q = ExternalLogin.query(login.providerAuthorize);
    assertThat(q)
        .containsEntry("prompt", "login")
        .containsEntry("code_challenge_method", "S256")
        .containsEntry("client_id", CLIENT_ID)
        .containsEntry("redirect_uri", "http://vigil.test:8080/signin-oidc")
        .containsEntry("scope", "openid profile email")
        .containsKeys("state", "nonce", "code_challenge");
    assertThat(q.get("state")).isNotEqualTo("console-state");
  }

  @Test
  void idTokenForAnotherAudienceIsRefusedAndCreatesNoUser() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    enqueue("sub-x", Map.of("preferred_username", "mallory", "aud", "someone-else"), 3600);
    assertRefused(new ExternalLogin(f).signIn("Contoso ID"), 401, "id_token_wrong_audience");
  }

  @Test
  void expiredIdTokenIsRefused() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    login.authenticateAtProvider();
    // Signed by the provider itself, for this sign-in, but expired ten minutes ago: well beyond
    // the allowed clock skew.
    SignedJWT expired =
        mock.issueToken(
            ISSUER_ID,
            CLIENT_ID,
            new DefaultOAuth2TokenCallback(
                ISSUER_ID,
                "sub-x",
                "JWT",
                List.of(CLIENT_ID),
                Map.of(
                    "preferred_username",
                    "mallory",
                    "nonce",
                    ExternalLogin.query(login.providerAuthorize).get("nonce"),
                    "exp",
                    Instant.now().getEpochSecond() - 600),
                3600));
    forged.body = tokenResponse(expired);
    assertRefused(login.followCallback(true), 401, "id_token_expired");
  }

  @Test
  void idTokenSignedWithAnotherKeyIsRefused() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    login.authenticateAtProvider();
    // A token response crafted by someone holding another key, with the provider's key id and
    // otherwise perfect claims.
    JWKSet published = JWKSet.parse(login.send(mock.jwksUrl(ISSUER_ID).toString(), true).body());
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair forger = g.generateKeyPair();
    Instant now = Instant.now();
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .issuer(ExternalLogin.authority(mock, ISSUER_ID))
            .subject("sub-forged")
            .audience(CLIENT_ID)
            .issueTime(Date.from(now))
            .expirationTime(Date.from(now.plusSeconds(600)))
            .claim("nonce", ExternalLogin.query(login.providerAuthorize).get("nonce"))
            .claim("preferred_username", "forged")
            .build();
    SignedJWT token =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(published.getKeys().get(0).getKeyID())
                .build(),
            claims);
    token.sign(new RSASSASigner(forger.getPrivate()));
    forged.body = tokenResponse(token);
    assertRefused(login.followCallback(true), 401, "id_token_bad_signature");
  }

  @Test
  void aStateIsSingleUseAndAnUnknownStateIsRefused() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    ExternalLogin login = new ExternalLogin(f);
    assertThat(login.signIn("Contoso ID").statusCode()).isEqualTo(302);
    long users = f.count("users");

    HttpResponse<String> replay = login.followCallback(true);
    assertThat(replay.statusCode()).isEqualTo(400);
    assertThat(read(replay).get("code").asText()).isEqualTo("unknown_state");
    HttpResponse<String> invented =
        login.send(f.url("/signin-oidc?code=abc&state=invented"), false);
    assertThat(invented.statusCode()).isEqualTo(400);
    assertThat(invented.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(invented.body()).contains("<code id=\"error-code\">unknown_state</code>");
    assertThat(f.count("users")).isEqualTo(users);
  }

  @Test
  void anErrorFromTheProviderIsShownAndUsesUpTheState() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    String state = ExternalLogin.query(login.providerAuthorize).get("state");
    HttpResponse<String> r =
        login.send(
            f.url(
                "/signin-oidc?error=access_denied&error_description=User+cancelled&state=" + state),
            true);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(read(r).get("code").asText()).isEqualTo("provider_error");
    assertThat(read(r).get("message").asText())
        .contains("access_denied")
        .contains("User cancelled");
    assertThat(f.count("users")).isEqualTo(1);
    assertThat(f.count("external_signin_states")).isZero();
  }

  @Test
  void aProviderDisabledDuringSignInRefusesTheCallback() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    login.authenticateAtProvider();
    patch("idp1", "{\"enabled\":false}");
    assertRefused(login.followCallback(true), 409, "provider_disabled");
    assertThat(
            f.get("/idp/connect/external/idp1?" + IdpFixture.encode(login.authorizeParams()), null)
                .body())
        .contains("provider_disabled");
  }

  @Test
  void anUnreachableProviderGivesAClearPage() throws Exception {
    int closed;
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    create(
        "{\"name\":\"down\",\"displayName\":\"Down ID\",\"authority\":\"http://127.0.0.1:"
            + closed
            + "/realm\",\"clientId\":\"c\",\"clientSecret\":\"s\"}");
    HttpResponse<String> r = new ExternalLogin(f).clickProvider("Down ID");
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body()).contains("provider_unavailable").contains("http://127.0.0.1:" + closed);
    assertThat(f.count("external_signin_states")).isZero();
  }

  @Test
  void aSignInStartedOnOneNodeCompletesOnAnotherAfterAFailover() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    rule("idp1", "groups", "vms-operators", "operator");
    enqueue(
        "sub-olga", Map.of("preferred_username", "olga", "groups", List.of("vms-operators")), 3600);
    ExternalLogin login = new ExternalLogin(f);
    login.clickProvider("Contoso ID");
    login.authenticateAtProvider();
    // The node that started the sign-in is gone; another node with the same database takes over.
    f.http.close();
    IdentityProvider other = f.newProvider(null);
    other.start();
    HttpServer second = f.serve(other);
    try {
      f.http = second;
      login.callbackNode = f.url("");
      JsonNode tokens = login.redeem(login.followCallback(true));
      assertThat(
              SignedJWT.parse(tokens.get("access_token").asText())
                  .getJWTClaimsSet()
                  .getStringListClaim("roles"))
          .containsExactly("operator");
    } finally {
      second.close();
      f.http = null;
    }
  }

  @Test
  void privateKeyJwtAuthenticatesWithTheCertificateFromTheStore() throws Exception {
    create(
        "{\"name\":\"idp1\",\"displayName\":\"Contoso ID\",\"authority\":\""
            + ExternalLogin.authority(mock, ISSUER_ID)
            + "\",\"clientId\":\""
            + CLIENT_ID
            + "\",\"clientAuthentication\":\"private_key_jwt\",\"certificateThumbprint\":\""
            + thumbprint.toLowerCase().replaceAll("(..)", "$1 ").trim()
            + "\"}");
    JsonNode shown = read(f.get("/api/v1/identity/providers/idp1", admin));
    assertThat(shown.get("certificateThumbprint").asText()).isEqualTo(thumbprint);
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    ExternalLogin login = new ExternalLogin(f);
    login.redeem(login.signIn("Contoso ID"));

    RecordedRequest token = tokenRequest();
    Map<String, String> form = form(token.getBody().readUtf8());
    assertThat(token.getHeader("Authorization")).isNull();
    assertThat(form)
        .containsEntry(
            "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        .containsEntry("redirect_uri", "http://vigil.test:8080/signin-oidc")
        .containsKey("code_verifier")
        .doesNotContainKey("client_secret");
    SignedJWT assertion = SignedJWT.parse(form.get("client_assertion"));
    assertThat(assertion.verify(new RSASSAVerifier((RSAPublicKey) clientKey.getPublic()))).isTrue();
    assertThat(assertion.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
    assertThat(assertion.getHeader().getX509CertSHA256Thumbprint())
        .isEqualTo(
            Base64URL.encode(
                MessageDigest.getInstance("SHA-256").digest(clientCertificate.getEncoded())));
    JWTClaimsSet claims = assertion.getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(CLIENT_ID);
    assertThat(claims.getSubject()).isEqualTo(CLIENT_ID);
    assertThat(claims.getAudience()).containsExactly(mock.tokenEndpointUrl(ISSUER_ID).toString());
    assertThat(claims.getExpirationTime()).isAfter(new Date());
  }

  @Test
  void aMissingCertificateStopsPrivateKeyJwtWithAClearError() throws Exception {
    create(
        "{\"name\":\"idp1\",\"displayName\":\"Contoso ID\",\"authority\":\""
            + ExternalLogin.authority(mock, ISSUER_ID)
            + "\",\"clientId\":\""
            + CLIENT_ID
            + "\",\"clientAuthentication\":\"private_key_jwt\",\"certificateThumbprint\":\""
            + "00".repeat(20)
            + "\"}");
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    assertRefused(new ExternalLogin(f).signIn("Contoso ID"), 500, "certificate_not_found");
  }

  @Test
  void theClientSecretGoesOnlyToTheProviderNeverIntoAResponseOrTheLog() throws Exception {
    HttpResponse<String> created = provider("idp1", "Contoso ID", "client_secret_basic");
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    ExternalLogin login = new ExternalLogin(f);
    login.redeem(login.signIn("Contoso ID"));
    RecordedRequest token = tokenRequest();
    assertThat(token.getHeader("Authorization"))
        .isEqualTo(
            "Basic "
                + java.util.Base64.getEncoder()
                    .encodeToString((CLIENT_ID + ":" + SECRET).getBytes(StandardCharsets.UTF_8)));

    patch("idp1", "{\"clientAuthentication\":\"client_secret_post\"}");
    enqueue("sub-olga", Map.of("preferred_username", "olga"), 3600);
    ExternalLogin again = new ExternalLogin(f);
    again.redeem(again.signIn("Contoso ID"));
    assertThat(form(tokenRequest().getBody().readUtf8())).containsEntry("client_secret", SECRET);

    List<HttpResponse<String>> responses =
        List.of(
            created,
            f.get("/api/v1/identity/providers", admin),
            f.get("/api/v1/identity/providers/idp1", admin));
    for (HttpResponse<String> r : responses) {
      assertThat(r.statusCode()).isEqualTo(200 + (r == created ? 1 : 0));
      assertThat(r.body()).doesNotContain(SECRET);
    }
    List<String> audit =
        f.db
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT COALESCE(before_json, '') || COALESCE(after_json, '') FROM"
                                + " audit_log")
                        .mapTo(String.class)
                        .list());
    assertThat(audit).anyMatch(e -> e.contains("\"clientSecretSet\":true"));
    assertThat(audit).noneMatch(e -> e.contains(SECRET));
    assertThat(read(created).get("clientSecretSet").asBoolean()).isTrue();
    assertThat(read(created).has("clientSecret")).isFalse();
    assertThat(logs.list).isNotEmpty();
    assertThat(logs.list)
        .allSatisfy(e -> assertThat(e.getFormattedMessage()).doesNotContain(SECRET));
  }

  @Test
  void aUserNameTakenByALocalUserIsRefused() throws Exception {
    provider("idp1", "Contoso ID", "client_secret_basic");
    enqueue("sub-admin", Map.of("preferred_username", "Admin"), 3600);
    assertRefused(new ExternalLogin(f).signIn("Contoso ID"), 409, "username_taken");
  }

  // --- helpers ----------------------------------------------------------------------------------

  private void assertRefused(HttpResponse<String> r, int status, String code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(read(r).get("code").asText()).isEqualTo(code);
    assertThat(f.count("users")).as("no user was created").isEqualTo(1);
    assertThat(f.count("authorization_codes")).isZero();
  }

  private static String tokenResponse(SignedJWT idToken) {
    return "{\"access_token\":\"x\",\"token_type\":\"Bearer\",\"expires_in\":60,\"id_token\":\""
        + idToken.serialize()
        + "\"}";
  }

  private void enqueue(String subject, Map<String, Object> claims, long expirySeconds) {
    mock.enqueueCallback(
        new DefaultOAuth2TokenCallback(
            ISSUER_ID, subject, "JWT", List.of(CLIENT_ID), claims, expirySeconds));
  }

  private HttpResponse<String> provider(String name, String display, String auth) throws Exception {
    return create(
        "{\"name\":\""
            + name
            + "\",\"displayName\":\""
            + display
            + "\",\"authority\":\""
            + ExternalLogin.authority(mock, ISSUER_ID)
            + "\",\"clientId\":\""
            + CLIENT_ID
            + "\",\"clientAuthentication\":\""
            + auth
            + "\",\"clientSecret\":\""
            + SECRET
            + "\"}");
  }

  private HttpResponse<String> create(String json) throws Exception {
    HttpResponse<String> r = f.json("POST", "/api/v1/identity/providers", admin, json, Map.of());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return r;
  }

  private void patch(String name, String json) throws Exception {
    String etag =
        f.get("/api/v1/identity/providers/" + name, admin)
            .headers()
            .firstValue("ETag")
            .orElseThrow();
    HttpResponse<String> r =
        f.json(
            "PATCH", "/api/v1/identity/providers/" + name, admin, json, Map.of("If-Match", etag));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private String rule(String provider, String claim, String value, String role) throws Exception {
    HttpResponse<String> r =
        f.json(
            "POST",
            "/api/v1/identity/rules",
            admin,
            "{\"provider\":\""
                + provider
                + "\",\"claim\":\""
                + claim
                + "\",\"value\":\""
                + value
                + "\",\"role\":\""
                + role
                + "\"}",
            Map.of());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return read(r).get("id").asText();
  }

  /** The last token request the provider received. */
  private RecordedRequest tokenRequest() throws Exception {
    RecordedRequest last = null;
    while (true) {
      RecordedRequest r;
      try {
        r = mock.takeRequest(200, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        break; // no more requests recorded
      }
      if (r.getPath().startsWith("/" + ISSUER_ID + "/token")) {
        last = r;
      }
    }
    assertThat(last).as("a token request reached the provider").isNotNull();
    return last;
  }

  private static Map<String, String> form(String body) {
    Map<String, String> form = new java.util.LinkedHashMap<>();
    for (String pair : body.split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(
          URLDecoder.decode(kv[0], StandardCharsets.UTF_8),
          kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
    }
    return form;
  }

  private void generateClientCertificate() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    clientKey = g.generateKeyPair();
    X500Name name = new X500Name("CN=vigil-client-assertion");
    Instant now = Instant.now();
    clientCertificate =
        new JcaX509CertificateConverter()
            .getCertificate(
                new JcaX509v3CertificateBuilder(
                        name,
                        BigInteger.valueOf(now.toEpochMilli()),
                        Date.from(now.minus(Duration.ofDays(1))),
                        Date.from(now.plus(Duration.ofDays(30))),
                        name,
                        clientKey.getPublic())
                    .build(
                        new JcaContentSignerBuilder("SHA256withRSA")
                            .build(clientKey.getPrivate())));
    thumbprint =
        HexFormat.of()
            .withUpperCase()
            .formatHex(MessageDigest.getInstance("SHA-1").digest(clientCertificate.getEncoded()));
  }
}
