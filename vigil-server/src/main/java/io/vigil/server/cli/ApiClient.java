package io.vigil.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vigil.client.ApiRequest;
import io.vigil.client.ApiResponse;
import io.vigil.client.TokenSource;
import io.vigil.client.VigilClient;
import io.vigil.client.VigilException;
import io.vigil.server.http.Json;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * The CLI's connection to a running node: gets an access token as client {@code vigil-cli} with the
 * {@link Credential} it is given (a refresh token {@code vigil login} stored, or the password grant
 * for scripts), then calls the HTTP API with the bearer token.
 *
 * <p>Calls go through the component SDK's {@link VigilClient}, whose {@link TokenSource} is the
 * credential: a command follows a standby's redirect to the active node, keeps the base path of a
 * {@code --server} URL behind a reverse proxy, and rides through a failover by the SDK's rules
 * (refusals that did not act and, for GET, PUT and DELETE, unknown outcomes are retried for up to
 * {@link #FAILOVER_TIME}; a POST whose outcome is unknown fails at once).
 *
 * <p>Every failure becomes a {@link CliException}: the node's {@code {"code","message"}} errors
 * (and the token endpoint's {@code {"error","error_description"}}) keep their code and message, and
 * the HTTP status picks the exit code (401 → 3, 404 → 4, 409 → 5, else 1). A node that cannot be
 * reached is named with its URL and the way to start one. An {@code https} node's certificate is
 * verified ({@link ServerTrust}); a certificate that fails is one line naming why, exit code 1.
 *
 * <p>Not thread-safe; one command uses one client. The token is fetched once, on first use; a
 * request the API refuses with 401 is sent once more with a fresh token when the credential can get
 * one without asking anybody (a stored refresh token), since the access token may have expired
 * during a long command.
 */
final class ApiClient {

  static final String CLIENT_ID = "vigil-cli";
  static final String SCOPE = "openid vigil.api";
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  /**
   * How long one call keeps retrying through a failover: long enough for a failover after a kill
   * (about a second) or a restart, short enough that a node that is simply not running is reported
   * soon.
   */
  static final Duration FAILOVER_TIME = Duration.ofSeconds(10);

  private final URI server;
  private final ServerTrust trust;
  private final Credential credential;
  private final VigilClient client;
  private String token;

  /**
   * How a command signs in. {@link #grant()} is called only when a token is needed, so commands
   * that fail earlier never ask for anything.
   */
  interface Credential {
    /** The token request's grant parameters; throws a {@link CliException} when there is none. */
    Map<String, String> grant();

    /** What the sign-in is called in messages, e.g. {@code Sign-in as "admin"}. */
    String describe();

    /** Called with a successful token response, e.g. to store a rotated refresh token. */
    default void issued(JsonNode response) {}

    /** The failure to report when the token endpoint refused the grant (HTTP 400 or 401). */
    default CliException refused(CliException e) {
      return new CliException(ExitCodes.AUTHENTICATION, e.code(), e.getMessage());
    }

    /**
     * {@code grant} again with a one-time code, when the server said the user needs one
     * (multi-factor sign-in); null when this credential cannot add one.
     */
    default Map<String, String> withOneTimeCode(Map<String, String> grant) {
      return null;
    }

    /** Whether a new token can be had without asking anybody. */
    default boolean renewable() {
      return false;
    }
  }

  /**
   * The password grant: for scripts given {@code VIGIL_PASSWORD}. {@code oneTimeCode} is asked only
   * when the server says the user signs in with one.
   */
  static Credential password(
      String user,
      java.util.function.Supplier<char[]> password,
      java.util.function.Supplier<String> oneTimeCode) {
    return new Credential() {
      @Override
      public Map<String, String> withOneTimeCode(Map<String, String> grant) {
        Map<String, String> again = new LinkedHashMap<>(grant);
        again.put("totp", oneTimeCode.get().strip());
        return again;
      }

      @Override
      public Map<String, String> grant() {
        char[] secret = password.get();
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "password");
        form.put("username", user);
        form.put("password", new String(secret));
        form.put("scope", SCOPE);
        java.util.Arrays.fill(secret, '\0');
        return form;
      }

      @Override
      public String describe() {
        return "Sign-in as \"" + user + "\"";
      }
    };
  }

  /** No credential: a token request fails with {@code failure}. */
  static Credential none(CliException failure) {
    return new Credential() {
      @Override
      public Map<String, String> grant() {
        throw failure;
      }

      @Override
      public String describe() {
        return "Sign-in";
      }
    };
  }

  /**
   * @param server the node's base URL, e.g. {@code https://vigil.example.com:8080}, or one behind a
   *     reverse proxy such as {@code https://proxy.example.com/vigil}
   * @param trust the certificates accepted for an {@code https} server (host name verified)
   */
  ApiClient(URI server, ServerTrust trust, Credential credential) {
    this.server = server;
    this.trust = trust;
    this.credential = credential;
    this.client =
        VigilClient.builder()
            .managementServer(server.toString())
            .trust(trust.sslContext())
            .requestTimeout(REQUEST_TIMEOUT)
            .failoverTime(FAILOVER_TIME)
            .tokenSource(new Tokens())
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
    return call(method, path, body, Map.of());
  }

  /**
   * Calls the API with an {@code If-Match} header, for a change that must apply to the revision the
   * caller read.
   *
   * @param ifMatch the ETag read, or null for none
   */
  JsonNode call(String method, String path, Object body, String ifMatch) {
    return call(method, path, body, ifMatch == null ? Map.of() : Map.of("If-Match", ifMatch));
  }

  /** {@link #call(String, String, Object)} with extra request headers (e.g. {@code If-Match}). */
  JsonNode call(String method, String path, Object body, Map<String, String> headers) {
    ApiRequest request = ApiRequest.of(method, path);
    if (body != null) {
      request =
          new ApiRequest(
              request.method(),
              path,
              toJson(body),
              "application/json",
              headers,
              request.idempotent(),
              true);
    } else if (!headers.isEmpty()) {
      request =
          new ApiRequest(request.method(), path, null, null, headers, request.idempotent(), true);
    }
    ApiResponse response = send(request);
    if (response.status() >= 300) {
      throw failure(method + " " + path, response.status(), response.body());
    }
    return parse(path, response.body());
  }

  /** An OAuth endpoint's answer: its status and JSON body. */
  record OAuthReply(int status, JsonNode body) {
    /** The OAuth {@code error} code, or null for a success. */
    String error() {
      return status == 200 ? null : body.path("error").asText(null);
    }
  }

  /**
   * POSTs a form to one of the identity provider's OAuth endpoints, with {@code client_id}, and
   * returns its answer whatever the status; a node that cannot be reached is a {@link
   * CliException}.
   */
  OAuthReply postForm(String path, Map<String, String> params) {
    Map<String, String> form = new LinkedHashMap<>(params);
    form.putIfAbsent("client_id", CLIENT_ID);
    ApiResponse response = send(form(path, form));
    JsonNode json;
    try {
      json =
          response.body().isBlank()
              ? Json.MAPPER.missingNode()
              : Json.MAPPER.readTree(response.body());
    } catch (JsonProcessingException e) {
      json = Json.MAPPER.missingNode();
    }
    return new OAuthReply(response.status(), json == null ? Json.MAPPER.missingNode() : json);
  }

  /**
   * A form POST to an OAuth endpoint, without a token. Not retried when its outcome is unknown: a
   * refresh token is rotated by its use, so a repeated request could present a spent one.
   */
  private static ApiRequest form(String path, Map<String, String> form) {
    return ApiRequest.of("POST", path).withForm(form).unauthenticated().idempotent(false);
  }

  /** The error of a refused OAuth request, with the exit code its status calls for. */
  CliException oauthFailure(String what, String path, OAuthReply reply) {
    int status = reply.status();
    if (status == 404) {
      // Exit code 4 means "the named object does not exist"; a missing sign-in endpoint is not
      // that, it is a node without its identity provider (or not a Vigil node at all).
      return new CliException(
          ExitCodes.ERROR,
          "no_identity_provider",
          "The node at "
              + server
              + " has no "
              + path
              + ": its identity provider is not running (see \"vigil cluster status\"), or"
              + " --server names something else.");
    }
    String code = reply.body().path("error").asText(null);
    String message =
        code == null
            ? what + " failed: HTTP " + status + " from " + server
            : reply.body().path("error_description").asText(code);
    // The token endpoint answers bad credentials with 400 invalid_grant (RFC 6749 section 5.2).
    return new CliException(
        status == 400 || status == 401 || status == 403
            ? ExitCodes.AUTHENTICATION
            : ExitCodes.ERROR,
        code,
        message);
  }

  /** The credential as the SDK's token source. */
  private final class Tokens implements TokenSource {
    @Override
    public String token(VigilClient vigil) {
      if (token == null) {
        token = signIn(vigil);
      }
      return token;
    }

    @Override
    public boolean invalidate(String refused) {
      if (!credential.renewable()) {
        return false;
      }
      token = null;
      return true;
    }
  }

  private String signIn(VigilClient vigil) {
    Map<String, String> grant = credential.grant();
    ApiResponse response = vigil.send(tokenRequest(grant));
    if (needsOneTimeCode(response.status(), response.body())) {
      // The password was right; the user has multi-factor sign-in, so send it again with a code.
      Map<String, String> again = credential.withOneTimeCode(grant);
      if (again != null) {
        response = vigil.send(tokenRequest(again));
      }
    }
    if (response.status() != 200) {
      CliException e = failure(credential.describe(), response.status(), response.body());
      int status = response.status();
      // The token endpoint answers bad credentials with 400 invalid_grant (RFC 6749 section 5.2).
      if (status == 400 || status == 401 || status == 403) {
        throw credential.refused(e);
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
    JsonNode body = parse("/idp/connect/token", response.body());
    JsonNode access = body.path("access_token");
    if (!access.isTextual() || access.asText().isBlank()) {
      throw new CliException(
          ExitCodes.AUTHENTICATION,
          "unexpected_response",
          "The token endpoint at " + server + "/idp/connect/token returned no access_token.");
    }
    credential.issued(body);
    return access.asText();
  }

  /**
   * Whether the token endpoint refused the sign-in for lack of a one-time code: {@code
   * invalid_grant} with a description that begins with {@value #MFA_REQUIRED}.
   */
  static boolean needsOneTimeCode(int status, String responseBody) {
    if (status != 400) {
      return false;
    }
    try {
      JsonNode body = Json.MAPPER.readTree(responseBody);
      return body != null
          && "invalid_grant".equals(body.path("error").asText())
          && body.path("error_description").asText().startsWith(MFA_REQUIRED);
    } catch (JsonProcessingException e) {
      return false;
    }
  }

  static final String MFA_REQUIRED = "mfa_required";

  private static ApiRequest tokenRequest(Map<String, String> grant) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", grant.get("grant_type"));
    form.put("client_id", CLIENT_ID);
    form.putAll(grant);
    return form("/idp/connect/token", form);
  }

  /** Sends {@code request} through the SDK; a call that got no answer is a {@link CliException}. */
  private ApiResponse send(ApiRequest request) {
    try {
      return client.send(request);
    } catch (VigilException e) {
      throw unanswered(e);
    }
  }

  /** The CLI's one line for a call that got no answer the SDK could return. */
  @SuppressWarnings(
      "ReferenceEquality") // identity on purpose: a cause that is itself ends the chain
  private CliException unanswered(VigilException e) {
    for (Throwable t = e.getCause(); t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException ssl) {
        return trust.explain(ssl, server);
      }
    }
    Throwable cause = e.getCause();
    if (cause instanceof ConnectException || cause instanceof HttpConnectTimeoutException) {
      return new CliException(
          ExitCodes.ERROR,
          "unreachable",
          "Cannot connect to a Vigil node at "
              + server
              + " ("
              + (cause.getMessage() == null ? "connection refused" : cause.getMessage())
              + "). Start one with \"vigil start-dev\", or point --server (or VIGIL_SERVER) at a"
              + " running node.");
    }
    if (cause instanceof HttpTimeoutException) {
      return new CliException(
          ExitCodes.ERROR,
          "timeout",
          "The Vigil node at " + server + " did not answer within " + REQUEST_TIMEOUT + ".");
    }
    if (cause instanceof java.io.IOException io) {
      return new CliException(
          ExitCodes.ERROR,
          "unreachable",
          "Cannot talk to a Vigil node at "
              + server
              + ": "
              + io
              + ". Check the URL given with --server (or VIGIL_SERVER)"
              + ("http".equalsIgnoreCase(server.getScheme())
                  ? "; a node with a TLS certificate answers only https://."
                  : "."));
    }
    if ("interrupted".equals(e.code())) {
      Thread.currentThread().interrupt();
      return new CliException(ExitCodes.ERROR, "interrupted", "Interrupted.");
    }
    // A refusal retried until the failover time ran out (a 503 while no node is active, a 429, a
    // proxy's 502), or too many redirects: the server's code and message, the status's exit code.
    return new CliException(exitCode(e.status()), e.code(), e.getMessage());
  }

  /** Maps an error response to the exit code and the server's own code and message. */
  private CliException failure(String what, int status, String responseBody) {
    String code = null;
    String message = null;
    try {
      JsonNode body = Json.MAPPER.readTree(responseBody);
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
    return new CliException(exitCode(status), code, message);
  }

  private static int exitCode(int status) {
    return switch (status) {
      case 401 -> ExitCodes.AUTHENTICATION;
      case 404 -> ExitCodes.NOT_FOUND;
      case 409 -> ExitCodes.CONFLICT;
      default -> ExitCodes.ERROR;
    };
  }

  private JsonNode parse(String path, String body) {
    if (body == null || body.isBlank()) {
      return Json.MAPPER.missingNode();
    }
    try {
      return Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new CliException(
          ExitCodes.ERROR,
          "unexpected_response",
          "The node at " + server + " answered " + path + " with non-JSON.");
    }
  }

  private static byte[] toJson(Object body) {
    try {
      return Json.MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialise request body", e);
    }
  }
}
