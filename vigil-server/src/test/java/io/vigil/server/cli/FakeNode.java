package io.vigil.server.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A tiny HTTP server answering canned JSON per "METHOD path?query", recording every request. */
final class FakeNode implements AutoCloseable {

  record Reply(int status, String body) {}

  record Request(String method, String uri, String authorization, String body, String ifMatch) {}

  private final HttpServer server;
  private final Map<String, Reply> replies = new ConcurrentHashMap<>();
  private final Map<String, java.util.Queue<Reply>> once = new ConcurrentHashMap<>();
  final List<Request> requests = new CopyOnWriteArrayList<>();

  FakeNode() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        exchange -> {
          String body =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          String key = exchange.getRequestMethod() + " " + exchange.getRequestURI();
          requests.add(
              new Request(
                  exchange.getRequestMethod(),
                  exchange.getRequestURI().toString(),
                  exchange.getRequestHeaders().getFirst("Authorization"),
                  body,
                  exchange.getRequestHeaders().getFirst("If-Match")));
          Reply first = once.getOrDefault(key, new java.util.LinkedList<>()).poll();
          Reply reply =
              first != null
                  ? first
                  : replies.getOrDefault(
                      key,
                      new Reply(404, "{\"code\":\"not_found\",\"message\":\"No " + key + "\"}"));
          byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(reply.status(), out.length == 0 ? -1 : out.length);
          if (out.length > 0) {
            exchange.getResponseBody().write(out);
          }
          exchange.close();
        });
    server.start();
  }

  /** Answers the token endpoint with a fixed access token. */
  FakeNode signIn() {
    return on(
        "POST /idp/connect/token",
        200,
        "{\"access_token\":\"tok-123\",\"token_type\":\"Bearer\",\"expires_in\":300}");
  }

  FakeNode on(String methodAndPath, int status, String body) {
    replies.put(methodAndPath, new Reply(status, body));
    return this;
  }

  /** Answers the next request to {@code methodAndPath} so, once, before the usual reply. */
  FakeNode once(String methodAndPath, int status, String body) {
    once.computeIfAbsent(methodAndPath, k -> new java.util.concurrent.ConcurrentLinkedQueue<>())
        .add(new Reply(status, body));
    return this;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<Request> apiRequests() {
    return requests.stream().filter(r -> r.uri().startsWith("/api/")).toList();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
