package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A black-box walk of every operation in {@code docs/openapi.json} with bad input, against a whole
 * node in-process: malformed, truncated, wrongly typed, huge and deeply nested bodies, strings with
 * NUL and lone surrogates, wrong content types, bad ids, paging and {@code If-Match}, methods the
 * document does not list, and missing, tampered, {@code alg: none} and HS256-with-the-public-key
 * tokens. Every answer must be a 4xx with a JSON {@code {code, message}} that shows no stack trace,
 * Java type, SQL or secret; nothing may change (the API's listings are equal before and after); and
 * the node may log no ERROR for any of it. Violations are collected and reported together.
 */
class ApiWalkTest {

  static final String ADMIN_PASSWORD = "correct-horse-battery";
  static final Set<String> METHODS = Set.of("GET", "PUT", "POST", "PATCH", "DELETE");

  /** What a leaked stack trace, Java type or SQL statement looks like. */
  static final Pattern INTERNALS =
      Pattern.compile(
          "\\tat |\\bat [a-z]+\\.[\\w.$]+\\(|\\b(java|javax|jdk|com|org|io|net)\\.[a-z]\\w*\\.[\\w.$]*[A-Z]\\w*"
              + "|Exception\\b|\\bSQL|\\bSELECT\\b.*\\bFROM\\b|\\bINSERT INTO\\b|\\bjdbc:");

  /** Listings whose answers must be the same before and after the walk. */
  static final List<String> SNAPSHOT =
      List.of(
          "/api/v1/servers",
          "/api/v1/hardware",
          "/api/v1/cameras",
          "/api/v1/site",
          "/api/v1/users",
          "/api/v1/clients",
          "/api/v1/registration-tokens",
          "/api/v1/cluster/resources",
          "/api/v1/identity/providers",
          "/api/v1/identity/rules");

  @TempDir static Path dataDir;

  static Node node;
  static JsonNode document;
  static HttpClient client;
  static String token;
  static ListAppender<ILoggingEvent> log;
  static final Map<String, String> ids = new LinkedHashMap<>();

  @BeforeAll
  static void startNode() throws Exception {
    var settings =
        SettingsLoader.load(
            dataDir,
            Map.of(
                "VIGIL_ADMIN_PASSWORD",
                ADMIN_PASSWORD,
                "VIGIL_MACHINE_KEY_FILE",
                dataDir.resolve("machine.key").toString()),
            new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1"));
    node = Node.start(settings);
    document =
        Json.MAPPER.readTree(
            Files.readAllBytes(OpenApiDocumentTest.repositoryRoot().resolve("docs/openapi.json")));
    client =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    token = adminToken();
    createObjects();
    log = new ListAppender<>();
    log.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(log);
  }

  @AfterAll
  static void stopNode() {
    if (log != null) {
      ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(log);
    }
    if (node != null) {
      node.close();
    }
  }

  // --- the walk ---------------------------------------------------------------------------------

  /** One request the walk sends, and whether a success would be wrong for it. */
  record Probe(
      String input, String method, String path, Map<String, String> headers, byte[] body) {}

  @Test
  void everyOperationRefusesBadInputCleanly() throws Exception {
    Map<String, String> before = snapshot();
    List<String> violations = new ArrayList<>();
    int sent = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    for (Iterator<Map.Entry<String, JsonNode>> paths =
            document.path("paths").properties().iterator();
        paths.hasNext(); ) {
      var entry = paths.next();
      String template = entry.getKey();
      Set<String> documented = new java.util.HashSet<>();
      entry.getValue().fieldNames().forEachRemaining(m -> documented.add(m.toUpperCase()));
      for (String method : documented) {
        if (!METHODS.contains(method)) {
          continue;
        }
        JsonNode op = entry.getValue().path(method.toLowerCase());
        for (Probe probe : probes(template, method, op, entry.getValue())) {
          if (System.nanoTime() > deadline) {
            violations.add("the walk ran out of time after " + sent + " requests");
            break;
          }
          sent++;
          checkAnswer(probe, violations);
        }
      }
      for (String wrong : List.of("PUT", "PATCH", "DELETE", "POST")) {
        if (!documented.contains(wrong)) {
          Probe probe =
              new Probe(
                  "undocumented method",
                  wrong,
                  fill(template, ids),
                  json(),
                  "{}".getBytes(StandardCharsets.UTF_8));
          sent++;
          checkAnswer(probe, violations);
        }
      }
    }
    Map<String, String> after = snapshot();
    for (String listing : SNAPSHOT) {
      if (!before.get(listing).equals(after.get(listing))) {
        violations.add(
            "GET "
                + listing
                + " changed: before "
                + excerpt(before.get(listing), 400)
                + " after "
                + excerpt(after.get(listing), 400));
      }
    }
    for (ILoggingEvent e : log.list) {
      if (e.getLevel().isGreaterOrEqual(Level.ERROR)) {
        violations.add(
            "ERROR in the node's log: "
                + e.getFormattedMessage()
                + (e.getThrowableProxy() == null
                    ? ""
                    : " ("
                        + e.getThrowableProxy().getClassName()
                        + ": "
                        + e.getThrowableProxy().getMessage()
                        + ")"));
      }
    }
    assertThat(sent).isGreaterThan(500);
    assertThat(violations)
        .withFailMessage(() -> violations.size() + " violations:\n" + String.join("\n", violations))
        .isEmpty();
  }

  /** The bad requests for one operation. */
  static List<Probe> probes(String template, String method, JsonNode op, JsonNode pathItem) {
    List<Probe> probes = new ArrayList<>();
    List<JsonNode> parameters = new ArrayList<>();
    pathItem.path("parameters").forEach(p -> parameters.add(resolve(p)));
    op.path("parameters").forEach(p -> parameters.add(resolve(p)));
    boolean hasBody = op.has("requestBody");
    boolean needsIfMatch =
        parameters.stream()
            .anyMatch(
                p -> p.path("name").asText().equals("If-Match") && p.path("required").asBoolean());
    String path = fill(template, ids);
    Map<String, String> good = json();
    if (needsIfMatch) {
      good.put("If-Match", "\"1\"");
    }
    byte[] empty = hasBody ? "{}".getBytes(StandardCharsets.UTF_8) : null;

    // Tokens: every operation, otherwise well-formed, must be refused without a valid token.
    for (Map.Entry<String, String> t : badTokens().entrySet()) {
      Map<String, String> h = new LinkedHashMap<>(good);
      if (t.getValue() == null) {
        h.remove("Authorization");
      } else {
        h.put("Authorization", t.getValue());
      }
      probes.add(new Probe("token: " + t.getKey(), method, path, h, empty));
    }

    // Ids: each path parameter replaced by values that name nothing.
    for (String name : pathParameters(template)) {
      for (String bad :
          List.of(
              "not-a-uuid",
              "00000000-0000-0000-0000-000000000000",
              "%00",
              "%C0%80",
              "%ED%A0%80",
              "..%2F..%2Fetc",
              "x".repeat(300),
              "'%20OR%201=1--")) {
        Map<String, String> values = new LinkedHashMap<>(ids);
        values.put(name, bad);
        probes.add(
            new Probe("path {" + name + "} = " + bad, method, fill(template, values), good, empty));
      }
    }

    // Paging and query parameters the operation declares.
    for (JsonNode p : parameters) {
      if (!p.path("in").asText().equals("query")) {
        continue;
      }
      String name = p.path("name").asText();
      for (String bad :
          List.of("-1", "0", "abc", "99999999999999999999", "%00", "%ED%A0%80", "x".repeat(2000))) {
        probes.add(
            new Probe(
                "query " + name + "=" + excerpt(bad, 20),
                method,
                path + "?" + name + "=" + bad,
                good,
                empty));
      }
    }

    // If-Match: only an ETag the API issued.
    if (parameters.stream().anyMatch(p -> p.path("name").asText().equals("If-Match"))) {
      for (String bad :
          List.of("1", "W/\"1\"", "*", "\"+1\"", "\"abc\"", "\"99999999999999999999\"", "\"\"")) {
        Map<String, String> h = new LinkedHashMap<>(good);
        h.put("If-Match", bad);
        probes.add(new Probe("If-Match: " + bad, method, path, h, empty));
      }
    }

    // Bodies.
    if (hasBody) {
      for (Map.Entry<String, byte[]> b : badBodies(op).entrySet()) {
        probes.add(new Probe("body " + b.getKey(), method, path, good, b.getValue()));
      }
      for (String type :
          List.of("text/plain", "application/jsonx", "application/json; charset=latin1", "")) {
        Map<String, String> h = new LinkedHashMap<>(good);
        if (type.isEmpty()) {
          h.remove("Content-Type");
        } else {
          h.put("Content-Type", type);
        }
        probes.add(
            new Probe(
                "Content-Type " + (type.isEmpty() ? "missing" : type),
                method,
                path,
                h,
                "{\"name\":\"x\"}".getBytes(StandardCharsets.UTF_8)));
      }
    }
    return probes;
  }

  /** Bodies that no operation accepts, and wrongly typed values for each field of its schema. */
  static Map<String, byte[]> badBodies(JsonNode op) {
    Map<String, String> bodies = new LinkedHashMap<>();
    bodies.put("malformed", "{");
    bodies.put("truncated", "{\"name\":\"recorder");
    bodies.put("not an object", "[]");
    bodies.put("a string", "\"x\"");
    bodies.put("null", "null");
    bodies.put("two values", "{} {}");
    bodies.put("deeply nested", "{\"name\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}");
    bodies.put(
        "deep objects", "{\"name\":" + "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000) + "}");
    bodies.put("huge number", "{\"name\":1" + "0".repeat(5_000) + "}");
    bodies.put("duplicate field", "{\"name\":\"a\",\"name\":\"b\"}");
    JsonNode schema =
        resolve(op.path("requestBody").path("content").path("application/json").path("schema"));
    schema
        .path("properties")
        .properties()
        .forEach(
            f -> {
              String name = f.getKey();
              JsonNode type = resolve(f.getValue()).path("type");
              String t = type.isArray() ? type.get(0).asText() : type.asText();
              String wrong =
                  switch (t) {
                    case "string" -> "12345";
                    case "integer", "number" -> "\"1\"";
                    case "boolean" -> "\"true\"";
                    case "array" -> "{\"a\":1}";
                    default -> "[1]";
                  };
              bodies.put(name + " wrong type", "{\"" + name + "\":" + wrong + "}");
              if (t.equals("string")) {
                bodies.put(name + " with NUL", "{\"" + name + "\":\"a\\u0000b\"}");
                bodies.put(name + " lone surrogate", "{\"" + name + "\":\"a\\ud800b\"}");
                bodies.put(name + " huge", "{\"" + name + "\":\"" + "x".repeat(200_000) + "\"}");
                if (!name.toLowerCase().contains("password")
                    && !name.toLowerCase().contains("secret")) {
                  // Secrets may hold any character; names, addresses and the like may not.
                  bodies.put(name + " control", "{\"" + name + "\":\"a\\u202eb\\u0007\"}");
                }
              }
              if (t.equals("integer")) {
                bodies.put(name + " huge", "{\"" + name + "\":99999999999999999999999}");
                bodies.put(name + " fraction", "{\"" + name + "\":1.5}");
              }
              if (t.equals("array")) {
                bodies.put(name + " with null", "{\"" + name + "\":[null]}");
                bodies.put(name + " of numbers", "{\"" + name + "\":[1,2]}");
              }
            });
    Map<String, byte[]> bytes = new LinkedHashMap<>();
    bodies.forEach((k, v) -> bytes.put(k, v.getBytes(StandardCharsets.UTF_8)));
    bytes.put(
        "invalid UTF-8",
        new byte[] {'{', '"', 'n', 'a', 'm', 'e', '"', ':', '"', (byte) 0xff, '"', '}'});
    if (op.path("requestBody").path("required").asBoolean()) {
      bytes.put("empty", new byte[0]); // where a body is optional, none is a request of its own
    }
    return bytes;
  }

  /** Missing, malformed, tampered, unsigned and HS256-with-the-public-key tokens. */
  static Map<String, String> badTokens() {
    Map<String, String> tokens = new LinkedHashMap<>();
    String[] parts = token.split("\\.");
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    String tamperedPayload =
        b64.encodeToString(
            payload.replace("\"exp\":", "\"exp\":9").getBytes(StandardCharsets.UTF_8));
    tokens.put("missing", null);
    tokens.put("empty bearer", "Bearer ");
    tokens.put("garbage", "Bearer not.a.token");
    tokens.put(
        "basic",
        "Basic "
            + Base64.getEncoder()
                .encodeToString(("admin:" + ADMIN_PASSWORD).getBytes(StandardCharsets.UTF_8)));
    tokens.put("tampered payload", "Bearer " + parts[0] + "." + tamperedPayload + "." + parts[2]);
    tokens.put("tampered signature", "Bearer " + parts[0] + "." + parts[1] + "." + flip(parts[2]));
    tokens.put("truncated", "Bearer " + token.substring(0, token.length() / 2));
    String none =
        b64.encodeToString(
            "{\"alg\":\"none\",\"typ\":\"at+jwt\"}".getBytes(StandardCharsets.UTF_8));
    tokens.put("alg none", "Bearer " + none + "." + parts[1] + ".");
    try {
      JsonNode jwks = Json.MAPPER.readTree(get("/idp/.well-known/jwks.json").body());
      JsonNode key = jwks.path("keys").get(0);
      String header =
          b64.encodeToString(
              ("{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\""
                      + key.path("kid").asText()
                      + "\"}")
                  .getBytes(StandardCharsets.UTF_8));
      for (Map.Entry<String, byte[]> secret :
          Map.of(
                  "JWK",
                  key.toString().getBytes(StandardCharsets.UTF_8),
                  "modulus",
                  Base64.getUrlDecoder().decode(key.path("n").asText()))
              .entrySet()) {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getValue(), "HmacSHA256"));
        String signingInput = header + "." + parts[1];
        String sig =
            b64.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
        tokens.put(
            "HS256 with the public key's " + secret.getKey(), "Bearer " + signingInput + "." + sig);
      }
    } catch (Exception e) {
      throw new AssertionError("cannot make the HS256 tokens", e);
    }
    return tokens;
  }

  private static String flip(String s) {
    char last = s.charAt(s.length() - 2);
    return s.substring(0, s.length() - 2) + (last == 'A' ? 'B' : 'A') + s.charAt(s.length() - 1);
  }

  private static void checkAnswer(Probe probe, List<String> violations)
      throws InterruptedException {
    HttpResponse<String> r;
    try {
      try {
        r = send(probe);
      } catch (java.io.IOException closed) {
        // The node may close a connection after refusing a request on it, and the HTTP client
        // retries only GETs on a connection it finds closed; a new one must get the answer.
        r = send(probe);
      }
    } catch (java.io.IOException e) {
      violations.add(
          "no answer ("
              + e.getMessage()
              + "): "
              + probe.method()
              + " "
              + excerpt(probe.path(), 100)
              + " ["
              + excerpt(probe.input(), 60)
              + "]");
      return;
    }
    check(probe, r, violations);
  }

  /** The checks every answer to bad input must pass. */
  static void check(Probe probe, HttpResponse<String> r, List<String> violations) {
    String what =
        probe.method()
            + " "
            + excerpt(probe.path(), 100)
            + " ["
            + excerpt(probe.input(), 60)
            + "] -> "
            + r.statusCode()
            + " "
            + excerpt(r.body(), 200);
    int status = r.statusCode();
    // A filter that matches nothing may answer an empty list; only a refusal is checked for it.
    boolean mayAnswer = probe.method().equals("GET") && probe.input().startsWith("query ");
    if (status >= 500) {
      violations.add("5xx: " + what);
    } else if (status < 400 && !mayAnswer) {
      violations.add("accepted: " + what);
    }
    if (status >= 400) {
      try {
        JsonNode body = Json.MAPPER.readTree(r.body());
        if (!body.path("code").isTextual()
            || !body.path("code").asText().matches("[a-z][a-z_]*")
            || !body.path("message").isTextual()) {
          violations.add("no {code, message}: " + what);
        }
        if (body.path("message").asText().length() > 1024) {
          violations.add("message longer than 1024 characters: " + what);
        }
      } catch (Exception e) {
        violations.add("not JSON: " + what);
      }
    }
    String sent =
        probe.input()
            + probe.path()
            + (probe.body() == null ? "" : new String(probe.body(), StandardCharsets.UTF_8));
    var m = INTERNALS.matcher(r.body());
    while (m.find()) {
      if (!sent.contains(m.group())) {
        violations.add("shows \"" + m.group() + "\": " + what);
      }
    }
    if (r.body().contains(ADMIN_PASSWORD) || r.body().contains(token)) {
      violations.add("shows a secret: " + what);
    }
  }

  // --- plumbing -------------------------------------------------------------------------------

  static HttpResponse<String> send(Probe p) throws java.io.IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.url() + p.path()))
            .timeout(Duration.ofSeconds(20))
            .method(
                p.method(),
                p.body() == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(p.body()));
    p.headers().forEach(b::header);
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static Map<String, String> json() {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Authorization", "Bearer " + token);
    h.put("Content-Type", "application/json");
    return h;
  }

  static HttpResponse<String> get(String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(node.url() + path))
            .header("Authorization", "Bearer " + token)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode post(String path, String body) throws Exception {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(node.url() + path))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isBetween(200, 299);
    return Json.MAPPER.readTree(r.body());
  }

  static String adminToken() throws Exception {
    String form =
        "grant_type=password&client_id=vigil-cli&username=admin&password="
            + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8);
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(node.url() + "/idp/connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body()).path("access_token").asText();
  }

  /** Real objects, so that requests with their ids get past the lookup to the validation. */
  static void createObjects() throws Exception {
    // An hour between heartbeats: the data collector must not mark it offline during the walk,
    // which would change the listing of servers.
    String server =
        post(
                "/api/v1/servers",
                "{\"name\":\"Recorder 1\",\"type\":\"recording-server\",\"address\":\"https://rec1.example.com\",\"heartbeatIntervalSeconds\":3600}")
            .path("id")
            .asText();
    String hardware =
        post(
                "/api/v1/hardware",
                "{\"name\":\"Door\",\"recordingServerId\":\""
                    + server
                    + "\",\"address\":\"http://10.0.0.5\",\"username\":\"u\",\"password\":\"device-secret\"}")
            .path("id")
            .asText();
    String camera =
        post(
                "/api/v1/cameras",
                "{\"name\":\"Door cam\",\"hardwareId\":\"" + hardware + "\",\"channel\":1}")
            .path("id")
            .asText();
    String user =
        post(
                "/api/v1/users",
                "{\"username\":\"ops\",\"displayName\":\"Ops\",\"password\":\"another-long-password\",\"roles\":[\"operator\"]}")
            .path("id")
            .asText();
    post(
        "/api/v1/clients",
        "{\"clientId\":\"rec-1\",\"type\":\"confidential\",\"roles\":[\"component\"]}");
    String registrationToken =
        post("/api/v1/registration-tokens", "{\"type\":\"recording-server\"}").path("id").asText();
    ids.put("/api/v1/servers/{id}", server);
    ids.put("/api/v1/registration-tokens/{id}", registrationToken);
    ids.put("/api/v1/hardware/{id}", hardware);
    ids.put("/api/v1/cameras/{id}", camera);
    ids.put("/api/v1/users/{id}", user);
    ids.put("/api/v1/clients/{id}", "rec-1");
    ids.put(
        "/api/v1/cluster/nodes/{name}",
        Json.MAPPER
            .readTree(get("/api/v1/cluster").body())
            .path("nodes")
            .get(0)
            .path("name")
            .asText());
    ids.put("/api/v1/cluster/resources/{name}", "no-such-resource");
    ids.put("/api/v1/identity/providers/{name}", "no-such-provider");
    ids.put("/api/v1/identity/rules/{id}", "0b6f4d1e-8c4a-4f5e-9a3b-2c1d0e9f8a7b");
  }

  /**
   * {@code template} with each parameter replaced: by {@code values.get(name)} when given, else by
   * the id of the object the path's prefix names.
   */
  static String fill(String template, Map<String, String> values) {
    StringBuilder out = new StringBuilder();
    var m = OpenApiDocumentTest.TEMPLATE_PARAMETER.matcher(template);
    int last = 0;
    while (m.find()) {
      out.append(template, last, m.start());
      String prefix = template.substring(0, m.end());
      String value = values.containsKey(m.group(1)) ? values.get(m.group(1)) : ids.get(prefix);
      out.append(value == null ? "unknown" : value);
      last = m.end();
    }
    return out.append(template.substring(last)).toString();
  }

  static List<String> pathParameters(String template) {
    List<String> names = new ArrayList<>();
    var m = OpenApiDocumentTest.TEMPLATE_PARAMETER.matcher(template);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  static JsonNode resolve(JsonNode node) {
    String ref = node.path("$ref").asText();
    if (ref.isEmpty()) {
      return node;
    }
    return resolve(document.at(ref.substring(1)));
  }

  static Map<String, String> snapshot() throws Exception {
    Map<String, String> s = new LinkedHashMap<>();
    for (String listing : SNAPSHOT) {
      HttpResponse<String> r = get(listing);
      assertThat(r.statusCode()).as("GET %s: %s", listing, r.body()).isEqualTo(200);
      s.put(listing, r.body());
    }
    return s;
  }

  static String excerpt(String s, int max) {
    String e = Text.excerpt(s.length() > max * 2 ? s.substring(0, max * 2) : s);
    return e.length() > max ? e.substring(0, max) + "…" : e;
  }
}
