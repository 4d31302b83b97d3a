package io.vigil.client;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * One call of the management server's API, for {@link VigilClient#send}: any method, path, body and
 * extra headers (such as {@code If-Match}). {@code idempotent} decides whether the call is retried
 * when its outcome is unknown (see {@link VigilClient}); by default GET, HEAD, PUT and DELETE are,
 * POST and PATCH are not. {@code authenticated} false sends no bearer token (the token endpoint).
 *
 * @param body the bytes to send, or null for none
 * @param contentType the body's media type, or null
 * @param headers extra request headers, such as {@code If-Match}
 */
@SuppressWarnings("ArrayRecordComponent") // the body is handed to the HTTP client, never compared
public record ApiRequest(
    String method,
    String path,
    byte[] body,
    String contentType,
    Map<String, String> headers,
    boolean idempotent,
    boolean authenticated) {

  public ApiRequest {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("a path starts with /, not \"" + path + "\"");
    }
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  /** A call without a body, authenticated, idempotent as its method says. */
  public static ApiRequest of(String method, String path) {
    String m = method.toUpperCase(Locale.ROOT);
    boolean idempotent =
        switch (m) {
          case "GET", "HEAD", "PUT", "DELETE", "OPTIONS" -> true;
          default -> false;
        };
    return new ApiRequest(m, path, null, null, Map.of(), idempotent, true);
  }

  /** A GET of {@code path}. */
  public static ApiRequest get(String path) {
    return of("GET", path);
  }

  /** This call with {@code body} serialised as JSON ({@code application/json}). */
  public ApiRequest withJson(Object body) {
    return new ApiRequest(
        method, path, ApiJson.write(body), "application/json", headers, idempotent, authenticated);
  }

  /** This call with an {@code application/x-www-form-urlencoded} body of {@code form}. */
  public ApiRequest withForm(Map<String, String> form) {
    StringBuilder b = new StringBuilder();
    form.forEach(
        (k, v) ->
            b.append(b.isEmpty() ? "" : "&")
                .append(URLEncoder.encode(k, StandardCharsets.UTF_8))
                .append('=')
                .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return new ApiRequest(
        method,
        path,
        b.toString().getBytes(StandardCharsets.UTF_8),
        "application/x-www-form-urlencoded",
        headers,
        idempotent,
        authenticated);
  }

  /** This call with the extra header {@code name: value}. */
  public ApiRequest withHeader(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new ApiRequest(method, path, body, contentType, h, idempotent, authenticated);
  }

  /** This call, retried or not when its outcome is unknown. */
  public ApiRequest idempotent(boolean retry) {
    return new ApiRequest(method, path, body, contentType, headers, retry, authenticated);
  }

  /** This call without a bearer token (for the identity provider's OAuth endpoints). */
  public ApiRequest unauthenticated() {
    return new ApiRequest(method, path, body, contentType, headers, idempotent, false);
  }

  /** Never shows the body, which may hold a password. */
  @Override
  public String toString() {
    return "ApiRequest[" + method + " " + path + "]";
  }
}
