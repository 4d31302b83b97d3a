package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Behind a trusted proxy, the login throttle counts failures per client, not per proxy. */
class LoginThrottleBehindProxyTest {

  IdpFixture f;

  @BeforeEach
  void start() {
    f = new IdpFixture(IdpFixture.ADMIN_PASSWORD);
    f.http.close();
    f.settings.http.trustedProxies = List.of("127.0.0.1");
    f.http = f.serve(f.idp);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  HttpResponse<String> signIn(String user, String password, String forwardedFor) throws Exception {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", user);
    params.put("password", password);
    return f.client.send(
        HttpRequest.newBuilder(URI.create(f.url("/idp/connect/token")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Forwarded-For", forwardedFor)
            .POST(HttpRequest.BodyPublishers.ofString(IdpFixture.encode(params)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void failuresAreCountedForTheForwardedClientAddress() throws Exception {
    for (int i = 0; i < LoginThrottle.MAX_PER_ADDRESS; i++) {
      assertThat(signIn("guess" + i, "wrong password!", "203.0.113.7").statusCode()).isEqualTo(400);
    }

    HttpResponse<String> throttled = signIn("guess-more", "wrong password!", "203.0.113.7");
    HttpResponse<String> otherClient = signIn("admin", IdpFixture.ADMIN_PASSWORD, "203.0.113.8");

    assertThat(throttled.statusCode()).isEqualTo(429);
    assertThat(otherClient.statusCode()).as(otherClient.body()).isEqualTo(200);
  }
}
