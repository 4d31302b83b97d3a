package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * The identity provider's token and authorization requests from fuzzed bytes, sent to a real
 * provider on loopback (one per class; the parsing needs its clients and users), so that the whole
 * path from form parameters to the answer runs in this JVM. No answer may be a 5xx, show a stack
 * trace or a Java type, or quote a long value back; token errors are RFC 6749 JSON.
 */
@Tag("jazzer")
class IdpRequestFuzzTest {

  /** A stack frame or a qualified Java type, as a leaked stack trace or message would show. */
  static final Pattern INTERNALS =
      Pattern.compile(
          "\\tat |\\bat [a-z]+\\.[\\w.$]+\\(|\\b(java|javax|jdk|com|org|io|net)\\.[a-z]\\w*\\.[\\w.$]*[A-Z]\\w*"
              + "|Exception\\b|\\bSQL\\b");

  /** The longest error text an answer may carry: a message plus at most a 64-character excerpt. */
  static final int MAX_ERROR_CHARS = 1024;

  static IdpFixture f;

  private static volatile boolean loopbackAllowed;

  /**
   * Jazzer's server-side request forgery detector reports every connection; these go to the
   * provider on loopback only. Its agent is attached once the first input is ready, not before.
   */
  private static void allowLoopback() {
    if (!loopbackAllowed) {
      BugDetectors.allowNetworkConnections((host, port) -> host.equals("127.0.0.1"));
      loopbackAllowed = true;
    }
  }

  @BeforeAll
  static void startProvider() {
    f =
        new IdpFixture(
            IdpFixture.ADMIN_PASSWORD,
            IdpFixture.memoryDatabase(),
            io.vigil.server.identity.external.ClientAssertionKeys.none(),
            IdpFixture.runtimeTls(),
            s -> s.identity.tokenRequestsPerMinute = 1_000_000);
  }

  @AfterAll
  static void stopProvider() {
    if (f != null) {
      f.close();
    }
  }

  /**
   * An input is an optional {@code Authorization} header value, a newline and the form body of a
   * token request; an input without a newline is a body alone.
   */
  @FuzzTest(maxDuration = "60s")
  void tokenRequests(byte[] input) throws Exception {
    allowLoopback();
    String text = new String(input, StandardCharsets.UTF_8);
    int newline = text.indexOf('\n');
    String authorization = newline < 0 ? "" : text.substring(0, newline);
    String body = newline < 0 ? text : text.substring(newline + 1);
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(f.url("/idp/connect/token")))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (!authorization.isEmpty()) {
      try {
        b.header("Authorization", authorization);
      } catch (IllegalArgumentException notAHeader) {
        return; // no HTTP client can send it
      }
    }
    HttpResponse<String> r = f.client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    String what =
        "token request " + excerpt(text) + " -> " + r.statusCode() + " " + excerpt(r.body());
    assertThat(r.statusCode()).as(what).isBetween(200, 499);
    JsonNode answer = Json.MAPPER.readTree(r.body());
    if (r.statusCode() == 200) {
      assertThat(answer.path("access_token").isTextual()).as(what).isTrue();
      return;
    }
    assertThat(answer.path("error").asText()).as(what).matches("[a-z_]+");
    String description = answer.path("error_description").asText();
    assertThat(description.length()).as(what).isLessThanOrEqualTo(MAX_ERROR_CHARS);
    assertNoInternals(description, text, what);
  }

  /**
   * An input is the parameters of an authorization request, sent as the query of the sign-in page
   * (GET) and as the form the page posts (POST).
   */
  @FuzzTest(maxDuration = "60s")
  void authorizeRequests(byte[] input) throws Exception {
    allowLoopback();
    String text = new String(input, StandardCharsets.UTF_8);
    URI page;
    try {
      page = URI.create(f.url("/idp/connect/authorize") + "?" + text);
    } catch (IllegalArgumentException notAUri) {
      page = null; // no browser sends it as a query; the form still can
    }
    if (page != null) {
      check(
          "GET authorize ?" + excerpt(text),
          text,
          f.client.send(
              HttpRequest.newBuilder(page).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    check(
        "POST authorize " + excerpt(text),
        text,
        f.client.send(
            HttpRequest.newBuilder(URI.create(f.url("/idp/connect/authorize")))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(text))
                .build(),
            HttpResponse.BodyHandlers.ofString()));
  }

  private static void check(String request, String input, HttpResponse<String> r) {
    String what = request + " -> " + r.statusCode() + " " + excerpt(r.body());
    assertThat(r.statusCode()).as(what).isBetween(200, 499);
    assertNoInternals(r.body(), input, what);
    if (r.statusCode() == 400) {
      // The error page: one message about the link, never the link itself.
      assertThat(r.body().length()).as(what).isLessThanOrEqualTo(MAX_ERROR_CHARS + 400);
    }
    if (r.statusCode() == 302) {
      String location = r.headers().firstValue("Location").orElse("");
      assertThat(location).as(what).isNotEmpty();
    }
  }

  static void assertNoInternals(String answer, String input, String what) {
    var m = INTERNALS.matcher(answer);
    while (m.find()) {
      assertThat(input).as("%s shows %s", what, m.group()).contains(m.group());
    }
  }

  static String excerpt(String s) {
    return io.vigil.server.http.Text.excerpt(s);
  }
}
