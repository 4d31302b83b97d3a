package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.identity.external.ClientAssertionKeys;
import io.vigil.server.protect.FileCertificateStore;
import io.vigil.server.protect.StoreTrust;
import io.vigil.server.testing.TestCertificates;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.http.MockWebServerWrapper;
import no.nav.security.mock.oauth2.http.Ssl;
import no.nav.security.mock.oauth2.http.SslKeystore;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An external provider served over HTTPS with a certificate of the site's own CA: the node trusts
 * it once the CA is in the certificate store's {@code trusted} folder, and not before.
 */
class ExternalProviderTlsTest {

  static final String ISSUER_ID = "corp";
  static final String CLIENT_ID = "vigil-at-corp";

  @TempDir Path dataDir;
  final TestCertificates.Issued siteCa = TestCertificates.ca("Contoso Site Root");
  MockOAuth2Server mock;
  IdpFixture f;

  @AfterEach
  void stop() {
    if (mock != null) {
      mock.shutdown();
    }
    if (f != null) {
      f.close();
    }
  }

  @Test
  void aProviderWhoseCaIsImportedAsTrustedIsReachedWithoutARestart() throws Exception {
    start(TestCertificates.builder("localhost").dnsNames("localhost").issuedBy(siteCa).build());
    String admin = f.adminToken();
    createProvider(admin);

    HttpResponse<String> before = new ExternalLogin(f).clickProvider("Corp ID");
    assertThat(before.statusCode()).as(before.body()).isEqualTo(502);
    assertThat(before.body())
        .contains("provider_unavailable")
        .contains("certificate is not trusted")
        .contains("import-cert")
        .contains("--trusted");

    Files.createDirectories(TestCertificates.trusted(dataDir));
    Files.writeString(
        TestCertificates.trusted(dataDir).resolve("site-root.pem"), siteCa.certificatePem());
    mock.enqueueCallback(
        new DefaultOAuth2TokenCallback(
            ISSUER_ID,
            "sub-ines",
            "JWT",
            List.of(CLIENT_ID),
            Map.of("preferred_username", "ines"),
            3600));
    ExternalLogin login = new ExternalLogin(f);
    login.browser = browserTrustingSiteCa();
    JsonNode tokens = login.redeem(login.signIn("Corp ID"));
    assertThat(
            SignedJWT.parse(tokens.get("access_token").asText())
                .getJWTClaimsSet()
                .getStringClaim("preferred_username"))
        .isEqualTo("ines");
  }

  @Test
  void aTrustedCertificateIssuedForAnotherHostIsRefused() throws Exception {
    Files.createDirectories(TestCertificates.trusted(dataDir));
    Files.writeString(
        TestCertificates.trusted(dataDir).resolve("site-root.pem"), siteCa.certificatePem());
    start(
        TestCertificates.builder("idp.elsewhere.test")
            .dnsNames("idp.elsewhere.test")
            .issuedBy(siteCa)
            .build());
    String admin = f.adminToken();
    createProvider(admin);

    HttpResponse<String> r = new ExternalLogin(f).clickProvider("Corp ID");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
    assertThat(r.body()).contains("provider_unavailable").contains("another host name");
    assertThat(f.count("external_signin_states")).isZero();
  }

  private void start(TestCertificates.Issued serverCertificate) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry(
        "tls",
        serverCertificate.privateKey(),
        "pw".toCharArray(),
        serverCertificate.chain().toArray(Certificate[]::new));
    mock =
        new MockOAuth2Server(
            new OAuth2Config(
                false,
                null,
                null,
                false,
                new OAuth2TokenProvider(),
                Set.of(),
                new MockWebServerWrapper(new Ssl(new SslKeystore("pw", keys)))));
    mock.start();
    FileCertificateStore store =
        new FileCertificateStore(FileCertificateStore.defaultRoot(dataDir));
    f = new IdpFixture(ADMIN_PASSWORD, ClientAssertionKeys.none(), StoreTrust.sslContext(store));
  }

  private void createProvider(String admin) throws Exception {
    String authority = ExternalLogin.authority(mock, ISSUER_ID);
    assertThat(authority).startsWith("https://localhost:");
    HttpResponse<String> r =
        f.json(
            "POST",
            "/api/v1/identity/providers",
            admin,
            "{\"name\":\"corp\",\"displayName\":\"Corp ID\",\"authority\":\""
                + authority
                + "\",\"clientId\":\""
                + CLIENT_ID
                + "\",\"clientSecret\":\"corp-secret-0c6d\"}",
            Map.of());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
  }

  private HttpClient browserTrustingSiteCa() throws Exception {
    KeyStore anchors = KeyStore.getInstance("PKCS12");
    anchors.load(null, null);
    anchors.setCertificateEntry("site", siteCa.certificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(anchors);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder()
        .sslContext(context)
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }
}
