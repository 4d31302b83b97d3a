import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for a node that answers only the HTTP contract the load scripts use, so their
 * plumbing (setup calls, auth headers, wrk reports, error counting) can be checked without the
 * identity provider and management API. It measures nothing about Vigil.
 *
 * <p>Run from the repository root after a build (Jackson comes from the distribution): {@code
 * VIGIL_ADMIN_PASSWORD=pw java -cp 'vigil-server/target/vigil/lib/*' bench/fake/FakeNode.java PORT
 * [FAIL_EVERY]}. Listens on 127.0.0.1 only. With FAIL_EVERY = n, every n-th client-credentials request gets a 503, so a
 * run must report errors.
 */
public final class FakeNode {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String adminPassword;
  private final long failEvery;
  private final Set<String> tokens = ConcurrentHashMap.newKeySet();
  private final Map<String, String> clientSecrets = new ConcurrentHashMap<>();
  private final List<Map<String, Object>> servers = new ArrayList<>();
  private final AtomicLong clientCredentialRequests = new AtomicLong();

  private FakeNode(String adminPassword, long failEvery) {
    this.adminPassword = adminPassword;
    this.failEvery = failEvery;
  }

  public static void main(String[] args) throws IOException {
    String password = System.getenv("VIGIL_ADMIN_PASSWORD");
    if (password == null || password.isEmpty() || args.length < 1) {
      System.err.println("usage: VIGIL_ADMIN_PASSWORD=pw java FakeNode.java PORT [FAIL_EVERY]");
      System.exit(2);
    }
    var fake = new FakeNode(password, args.length > 1 ? Long.parseLong(args[1]) : 0);
    var server =
        HttpServer.create(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0])),
            256);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", fake::handle);
    server.start();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      switch (method + " " + path) {
        case "GET /health/ready" -> send(ex, 200, Map.of("status", "UP"));
        case "POST /idp/connect/token" -> token(ex, form(body));
        case "POST /api/v1/clients" -> {
          if (authorized(ex)) {
            String clientId = (String) json(body).get("clientId");
            String secret = random();
            clientSecrets.put(clientId, secret);
            send(ex, 201, Map.of("clientId", clientId, "clientSecret", secret));
          }
        }
        case "POST /api/v1/servers" -> {
          if (authorized(ex)) {
            Map<String, Object> item = new HashMap<>(json(body));
            item.put("id", random());
            synchronized (servers) {
              servers.add(item);
            }
            send(ex, 201, item);
          }
        }
        case "GET /api/v1/servers" -> {
          if (authorized(ex)) {
            synchronized (servers) {
              send(ex, 200, Map.of("items", servers));
            }
          }
        }
        default -> send(ex, 404, Map.of("code", "not_found", "message", "no such route"));
      }
    }
  }

  private void token(HttpExchange ex, Map<String, String> form) throws IOException {
    boolean ok =
        switch (form.getOrDefault("grant_type", "")) {
          case "password" ->
              "vigil-cli".equals(form.get("client_id"))
                  && "admin".equals(form.get("username"))
                  && adminPassword.equals(form.get("password"))
                  && "openid vigil.api".equals(form.get("scope"));
          case "client_credentials" -> {
            long n = clientCredentialRequests.incrementAndGet();
            if (failEvery > 0 && n % failEvery == 0) {
              send(ex, 503, Map.of("error", "temporarily_unavailable"));
              yield true;
            }
            yield basicAuthMatches(ex.getRequestHeaders().getFirst("Authorization"));
          }
          default -> false;
        };
    if (ex.getResponseCode() > 0) {
      return;
    }
    if (!ok) {
      send(ex, 400, Map.of("error", "invalid_grant"));
      return;
    }
    String token = random();
    tokens.add(token);
    send(ex, 200, Map.of("access_token", token, "token_type", "Bearer", "expires_in", 300));
  }

  private boolean basicAuthMatches(String header) {
    if (header == null || !header.startsWith("Basic ")) {
      return false;
    }
    String decoded =
        new String(Base64.getDecoder().decode(header.substring(6)), StandardCharsets.UTF_8);
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return false;
    }
    String id = URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8);
    String secret = URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8);
    return secret.equals(clientSecrets.get(id));
  }

  private boolean authorized(HttpExchange ex) throws IOException {
    String header = ex.getRequestHeaders().getFirst("Authorization");
    if (header != null && header.startsWith("Bearer ") && tokens.contains(header.substring(7))) {
      return true;
    }
    send(ex, 401, Map.of("code", "unauthorized", "message", "bearer token missing or unknown"));
    return false;
  }

  private static Map<String, String> form(String body) {
    Map<String, String> map = new HashMap<>();
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        map.put(
            URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return map;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(String body) throws IOException {
    return JSON.readValue(body, Map.class);
  }

  private static String random() {
    byte[] bytes = new byte[18];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static void send(HttpExchange ex, int status, Object value) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(value);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
  }
}
