package io.vigil.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * The CLI's connection to a running node: signs in with the OAuth password grant as client {@code
 * vigil-cli}, then calls the HTTP API with the bearer token.
 *
 * <p>Every failure becomes a {@link CliException}: the node's {@code {"code","message"}} errors
 * (and the token endpoint's {@code {"error","error_description"}}) keep their code and message, and
 * the HTTP status picks the exit code (401 → 3, 404 → 4, 409 → 5, else 1). A node that cannot be
 * reached is named with its URL and the way to start one. An {@code https} node's certificate is
 * verified ({@link ServerTrust}); a certificate that fails is one line naming why, exit code 1.
 *
 * <p>Not thread-safe; one command uses one client. The token is fetched once, on first use, and not
 * refreshed: commands are short compared with the token's lifetime.
 */
final class ApiClient {

  static final String CLIENT_ID = "vigil-cli";
  static final String SCOPE = "openid vigil.api";
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private final URI server;
  private final HttpClient http;
  private final ServerTrust trust;
  private final String user;
  private final java.util.function.Supplier<char[]> password;
  private String token;

  /**
   * @param server the node's base URL, e.g. {@code https://vigil.example.com:8080}
   * @param trust the certificates accepted for an {@code https} server (host name verified)
   * @param password asked only when a token is needed, so commands that fail earlier never prompt
   */
  ApiClient(
      URI server, ServerTrust trust, String user, java.util.function.Supplier<char[]> password) {
    this.server = server;
    this.trust = trust;
    this.user = user;
    this.password = password;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .sslContext(trust.sslContext())
            .build();
  }

  URI server() {
    return server;
  }

  /** GET a JSON resource. */
  JsonNode get(String path) {
    return call("GET", path, null);
  }

  /**
   * GET every page of a list resource ({@code {"items": [...], "nextCursor": ...}}) and return one
   * {@code {"items": [...], "nextCursor": null}}. Follows {@code nextCursor} as the {@code cursor}
   * query parameter; stops if the server repeats a cursor rather than loop forever.
   */
  ObjectNode list(String path) {
    ArrayNode items = Json.MAPPER.createArrayNode();
    Set<String> seen = new HashSet<>();
    String cursor = null;
    do {
      String p =
          cursor == null
              ? path
              : path
                  + (path.contains("?") ? "&" : "?")
                  + "cursor="
                  + URLEncoder.encode(cursor, StandardCharsets.UTF_8);
      JsonNode page = get(p);
      JsonNode pageItems = page.path("items");
      if (!pageItems.isArray()) {
        throw new CliException(
            ExitCodes.ERROR,
            "unexpected_response",
            "GET " + server + path + " did not return a list (no \"items\" array).");
      }
      items.addAll((ArrayNode) pageItems);
      JsonNode next = page.path("nextCursor");
      cursor = next.isTextual() && !next.asText().isEmpty() ? next.asText() : null;
    } while (cursor != null && seen.add(cursor));
    ObjectNode result = Json.MAPPER.createObjectNode();
    result.set("items", items);
    result.putNull("nextCursor");
    return result;
  }

  /**
   * Calls the API.
   *
   * @param body serialised as JSON when not null
   * @return the response body as JSON, or a missing node for an empty body (e.g. 204)
   */
  JsonNode call(String method, String path, Object body) {
    HttpRequest.BodyPublisher publisher =
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(toJson(body));
    HttpRequest.Builder request =
        HttpRequest.newBuilder(resolve(path))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .header("Authorization", "Bearer " + token())
            .method(method, publisher);
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    HttpResponse<String> response = send(request.build());
    if (response.statusCode() >= 300) {
      throw failure(method + " " + path, response);
    }
    return parse(response);
  }

  private String token() {
    if (token != null) {
      return token;
    }
    char[] secret = password.get();
    String form =
        "grant_type=password&client_id="
            + enc(CLIENT_ID)
            + "&username="
            + enc(user)
            + "&password="
            + enc(new String(secret))
            + "&scope="
            + enc(SCOPE);
    java.util.Arrays.fill(secret, '\0');
    HttpRequest request =
        HttpRequest.newBuilder(resolve("/idp/connect/token"))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build();
    HttpResponse<String> response = send(request);
    if (response.statusCode() != 200) {
      CliException e = failure("Sign-in as \"" + user + "\"", response);
      int status = response.statusCode();
      // The token endpoint answers bad credentials with 400 invalid_grant (RFC 6749 section 5.2).
      if (status == 400 || status == 401 || status == 403) {
        throw new CliException(ExitCodes.AUTHENTICATION, e.code(), e.getMessage());
      }
      if (status == 404) {
        // Exit code 4 means "the named object does not exist"; a missing sign-in endpoint is not
        // that, it is a node without its identity provider (or not a Vigil node at all).
        throw new CliException(
            ExitCodes.ERROR,
            "no_identity_provider",
            "The node at "
                + server
                + " has no token endpoint at /idp/connect/token: its identity provider is not"
                + " running (see \"vigil cluster status\"), or --server names something else.");
      }
      throw e;
    }
    JsonNode access = parse(response).path("access_token");
    if (!access.isTextual() || access.asText().isBlank()) {
      throw new CliException(
          ExitCodes.AUTHENTICATION,
          "unexpected_response",
          "The token endpoint at " + server + "/idp/connect/token returned no access_token.");
    }
    token = access.asText();
    return token;
  }

  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  private HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unreachable",
          "Cannot connect to a Vigil node at "
              + server
              + " ("
              + (e.getMessage() == null ? "connection refused" : e.getMessage())
              + "). Start one with \"vigil start-dev\", or point --server (or VIGIL_SERVER) at a"
              + " running node.");
    } catch (SSLException e) {
      throw trust.explain(e, server);
    } catch (HttpTimeoutException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "timeout",
          "The Vigil node at " + server + " did not answer within " + REQUEST_TIMEOUT + ".");
    } catch (IOException e) {
      for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
        if (t instanceof SSLException ssl) {
          throw trust.explain(ssl, server);
        }
      }
      throw new CliException(
          ExitCodes.ERROR,
          "unreachable",
          "Cannot talk to a Vigil node at "
              + server
              + ": "
              + e
              + ". Check the URL given with --server (or VIGIL_SERVER)"
              + ("http".equalsIgnoreCase(server.getScheme())
                  ? "; a node with a TLS certificate answers only https://."
                  : "."));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.ERROR, "interrupted", "Interrupted.");
    }
  }

  /** Maps an error response to the exit code and the server's own code and message. */
  private CliException failure(String what, HttpResponse<String> response) {
    int status = response.statusCode();
    String code = null;
    String message = null;
    try {
      JsonNode body = Json.MAPPER.readTree(response.body());
      if (body != null && body.isObject()) {
        if (body.hasNonNull("message")) {
          message = body.get("message").asText();
          code = body.path("code").asText(null);
        } else if (body.hasNonNull("error")) {
          code = body.get("error").asText();
          message = body.path("error_description").asText(code);
        }
      }
    } catch (JsonProcessingException e) {
      // Not JSON (a proxy's HTML page, say): report the status below.
    }
    if (message == null) {
      message = what + " failed: HTTP " + status + " from " + server;
    }
    int exit =
        switch (status) {
          case 401 -> ExitCodes.AUTHENTICATION;
          case 404 -> ExitCodes.NOT_FOUND;
          case 409 -> ExitCodes.CONFLICT;
          default -> ExitCodes.ERROR;
        };
    return new CliException(exit, code, message);
  }

  private JsonNode parse(HttpResponse<String> response) {
    String body = response.body();
    if (body == null || body.isBlank()) {
      return Json.MAPPER.missingNode();
    }
    try {
      return Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unexpected_response",
          "The node at " + server + " answered " + response.request().uri() + " with non-JSON.");
    }
  }

  private URI resolve(String path) {
    return URI.create(server.toString().replaceAll("/+$", "") + path);
  }

  private static byte[] toJson(Object body) {
    try {
      return Json.MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialise request body", e);
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
