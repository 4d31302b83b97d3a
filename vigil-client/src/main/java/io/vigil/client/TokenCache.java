package io.vigil.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The access token of a component's OAuth client ({@link ClientCredentials}): gets tokens with the
 * client-credentials grant and renews each one before it expires (when a fifth of its lifetime, and
 * at least 30 s, is left), so that a call rarely waits for a token; a token the API refuses (401)
 * is replaced once. The token endpoint is reached like any other call ({@link Transport}): a
 * standby serves it itself while no node is active, and tokens signed by one node are valid on
 * every node, so a failover needs no new token.
 */
final class TokenCache implements Transport.Tokens {

  private static final Duration MIN_MARGIN = Duration.ofSeconds(30);

  private final String clientId;
  private final String secret;
  private final LongSupplier nanoTime;
  private String token;
  private long renewAt;

  TokenCache(String clientId, String secret, LongSupplier nanoTime) {
    this.clientId = Objects.requireNonNull(clientId, "clientId");
    this.secret = Objects.requireNonNull(secret, "secret");
    this.nanoTime = nanoTime;
  }

  @Override
  public synchronized String token(Transport transport) {
    if (token != null && nanoTime.getAsLong() - renewAt < 0) {
      return token;
    }
    String form =
        "grant_type=client_credentials&client_id="
            + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
            + "&client_secret="
            + URLEncoder.encode(secret, StandardCharsets.UTF_8);
    long asked = nanoTime.getAsLong();
    JsonNode body = request(transport, form, "issue a token to client \"" + clientId + "\"");
    String access = body.path("access_token").asText();
    long lifetime = Duration.ofSeconds(Math.max(1, body.path("expires_in").asLong(300))).toNanos();
    long margin = Math.max(lifetime / 5, Math.min(MIN_MARGIN.toNanos(), lifetime / 2));
    token = access;
    renewAt = asked + lifetime - margin;
    return token;
  }

  /**
   * POSTs a token request ({@code form}, already encoded) to the token endpoint and returns the
   * answer, which holds an access token.
   *
   * @param what what was asked, for the message of a refusal ("issue a token to client …")
   * @throws VigilException {@code authentication_failed} when the credentials were refused, the
   *     server's code for another refusal, {@code invalid_response} for an answer without a token
   */
  static JsonNode request(Transport transport, String form, String what) {
    Transport.Reply reply =
        transport.send(
            new Transport.Call(
                "POST",
                "/idp/connect/token",
                form.getBytes(StandardCharsets.UTF_8),
                "application/x-www-form-urlencoded",
                true,
                false));
    if (reply.status() != 200) {
      throw new VigilException(
          reply.status(),
          reply.status() == 400 || reply.status() == 401
              ? "authentication_failed"
              : Objects.requireNonNullElse(ApiJson.errorCode(reply.body()), "token_refused"),
          "The management server did not "
              + what
              + ": "
              + ApiJson.errorMessage(reply.body(), "HTTP " + reply.status()));
    }
    JsonNode body = ApiJson.tree(reply.body());
    String access = body.path("access_token").asText(null);
    if (access == null || access.isBlank()) {
      throw new VigilException(
          200, "invalid_response", "The token endpoint answered without an access token.");
    }
    return body;
  }

  @Override
  public synchronized boolean invalidate(String refused) {
    if (refused != null && refused.equals(token)) {
      token = null;
    }
    return true;
  }
}
