package io.vigil.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** A small HTTP client for tests: JSON in, JSON out, bearer token optional. */
public final class TestHttp {

  /**
   * One client for every instance, so that its connections are reused: a node accepts at most
   * {@code Http.MaxConnectionsPerAddress} connections from one address, and a client per request
   * leaves each connection open (idle) long after the test moved on.
   */
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private final HttpClient client = CLIENT;
  private final String baseUrl;
  private final Duration timeout;

  public TestHttp(String baseUrl) {
    this(baseUrl, Duration.ofSeconds(20));
  }

  /** A client whose requests give up after {@code timeout} (for nodes that may be stopped). */
  public TestHttp(String baseUrl, Duration timeout) {
    this.baseUrl = baseUrl;
    this.timeout = timeout;
  }

  /** A response: status, headers and the body parsed as JSON when it is JSON. */
  public record Response(int status, Map<String, String> headers, String body) {
    public JsonNode json() {
      try {
        return Json.MAPPER.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("Not JSON (" + status + "): " + body, e);
      }
    }

    public String header(String name) {
      return headers.get(name.toLowerCase());
    }
  }

  public Response get(String path, String token) {
    return send("GET", path, token, null, Map.of());
  }

  public Response send(
      String method, String path, String token, String jsonBody, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(timeout);
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (jsonBody != null) {
      b.header("Content-Type", "application/json");
    }
    headers.forEach(b::setHeader);
    b.method(
        method,
        jsonBody == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(jsonBody));
    return send(b.build());
  }

  public Response form(String path, String formBody, Map<String, String> headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(timeout)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(formBody));
    headers.forEach(b::header);
    return send(b.build());
  }

  private Response send(HttpRequest request) {
    try {
      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
      Map<String, String> h = new LinkedHashMap<>();
      r.headers().map().forEach((k, v) -> h.put(k.toLowerCase(), String.join(",", v)));
      return new Response(r.statusCode(), h, r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
