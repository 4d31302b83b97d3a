package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import no.nav.security.mock.oauth2.MockOAuth2Server;

/**
 * A browser signing in to the console through an external provider, by hand: each redirect is
 * followed with the JDK HTTP client, so a test can stop or tamper at any step.
 */
final class ExternalLogin {

  static final String CONSOLE_REDIRECT = "http://127.0.0.1:53111/callback";
  static final String ADVERTISED = "http://vigil.test:8080";
  private static final Pattern LINK =
      Pattern.compile("href=\"(external/[^\"]+)\">Sign in with ([^<]+)<");

  final IdpFixture f;
  final CodeVerifier verifier = new CodeVerifier();

  /** The node that serves the callback; by default the one that served the sign-in page. */
  String callbackNode;

  /** The browser's client for the provider's pages; by default the fixture's. */
  HttpClient browser;

  URI providerAuthorize;
  URI callback;

  ExternalLogin(IdpFixture f) {
    this.f = f;
    this.callbackNode = f.url("");
    this.browser = f.client;
  }

  /** The console's authorization request, as it sends the browser to the sign-in page. */
  Map<String, String> authorizeParams() {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("response_type", "code");
    q.put("client_id", "vigil-console");
    q.put("redirect_uri", CONSOLE_REDIRECT);
    q.put("scope", "openid vigil.api offline_access");
    q.put("state", "console-state");
    q.put("nonce", "console-nonce");
    q.put("code_challenge", CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue());
    q.put("code_challenge_method", "S256");
    return q;
  }

  /** The sign-in page's "Sign in with" links: display name → link. */
  Map<String, String> providerLinks() throws Exception {
    HttpResponse<String> page =
        f.get("/idp/connect/authorize?" + IdpFixture.encode(authorizeParams()), null);
    assertThat(page.statusCode()).isEqualTo(200);
    Map<String, String> links = new LinkedHashMap<>();
    Matcher m = LINK.matcher(page.body());
    while (m.find()) {
      links.put(m.group(2), m.group(1).replace("&amp;", "&"));
    }
    return links;
  }

  /** Clicks "Sign in with {@code displayName}": Vigil's answer, a redirect to the provider. */
  HttpResponse<String> clickProvider(String displayName) throws Exception {
    String link = providerLinks().get(displayName);
    assertThat(link).as("link for " + displayName).isNotNull();
    HttpResponse<String> r = f.get("/idp/connect/" + link, null);
    if (r.statusCode() == 302) {
      providerAuthorize = URI.create(r.headers().firstValue("Location").orElseThrow());
    }
    return r;
  }

  /** At the provider: it signs the user in at once and redirects back to Vigil's callback. */
  void authenticateAtProvider() throws Exception {
    HttpResponse<String> r = send(providerAuthorize.toString(), false);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(302);
    String location = r.headers().firstValue("Location").orElseThrow();
    assertThat(location).startsWith(ADVERTISED + "/");
    callback = URI.create(location);
  }

  /** The browser arriving at Vigil's callback; JSON errors when {@code json}. */
  HttpResponse<String> followCallback(boolean json) throws Exception {
    return send(callbackNode + callback.toString().substring(ADVERTISED.length()), json);
  }

  /** The whole flow; returns Vigil's final answer at the callback. */
  HttpResponse<String> signIn(String displayName) throws Exception {
    HttpResponse<String> start = clickProvider(displayName);
    assertThat(start.statusCode()).as(start.body()).isEqualTo(302);
    authenticateAtProvider();
    return followCallback(true);
  }

  /** The console redeeming the code it got at its redirect URI. */
  JsonNode redeem(HttpResponse<String> callbackAnswer) throws Exception {
    assertThat(callbackAnswer.statusCode()).as(callbackAnswer.body()).isEqualTo(302);
    URI console = URI.create(callbackAnswer.headers().firstValue("Location").orElseThrow());
    assertThat(console.toString()).startsWith(CONSOLE_REDIRECT + "?");
    Map<String, String> q = query(console);
    assertThat(q).containsEntry("state", "console-state");
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "authorization_code");
    form.put("client_id", "vigil-console");
    form.put("code", q.get("code"));
    form.put("redirect_uri", CONSOLE_REDIRECT);
    form.put("code_verifier", verifier.getValue());
    HttpResponse<String> tokens = f.form("/idp/connect/token", form, null);
    assertThat(tokens.statusCode()).as(tokens.body()).isEqualTo(200);
    return read(tokens);
  }

  static Map<String, String> query(URI uri) {
    Map<String, String> q = new LinkedHashMap<>();
    Arrays.stream(uri.getRawQuery().split("&"))
        .map(p -> p.split("=", 2))
        .forEach(
            p ->
                q.put(
                    URLDecoder.decode(p[0], StandardCharsets.UTF_8),
                    p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : ""));
    return q;
  }

  HttpResponse<String> send(String url, boolean json) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
    if (json) {
      b.header("Accept", "application/json");
    }
    return browser.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String authority(MockOAuth2Server mock, String issuerId) {
    String url = mock.issuerUrl(issuerId).toString();
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }
}
