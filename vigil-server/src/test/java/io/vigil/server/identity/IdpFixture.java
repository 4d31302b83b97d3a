package io.vigil.server.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.cluster.Fence;
import io.vigil.server.cluster.FencedException;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.http.HttpServer;
import io.vigil.server.http.Json;
import io.vigil.server.identity.external.ClientAssertionKeys;
import io.vigil.server.testing.MutableClock;
import io.vigil.server.testing.TestProtector;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import org.jdbi.v3.core.HandleCallback;

/** An identity provider on a fresh in-memory database, served over HTTP on a free port. */
final class IdpFixture implements AutoCloseable {

  static final String ADMIN_PASSWORD = "correct horse battery staple";
  static final int TEST_ITERATIONS = 1_000;

  final Database db;
  final Settings settings;
  final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  final TestProtector protector = new TestProtector();
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ClientAssertionKeys assertionKeys;
  final SSLContext outboundTls;
  final GatedFence fence;
  IdentityProvider idp;
  HttpServer http;
  final HttpClient client =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  IdpFixture(String adminPassword) {
    this(adminPassword, ClientAssertionKeys.none());
  }

  IdpFixture(String adminPassword, ClientAssertionKeys assertionKeys) {
    this(adminPassword, assertionKeys, runtimeTls());
  }

  /**
   * @param outboundTls what external providers' HTTPS certificates must chain to
   */
  IdpFixture(String adminPassword, ClientAssertionKeys assertionKeys, SSLContext outboundTls) {
    this(
        adminPassword,
        Database.open(
            "jdbc:h2:mem:idp-"
                + UUID.randomUUID()
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1",
            null,
            null,
            4),
        assertionKeys,
        outboundTls);
  }

  IdpFixture(String adminPassword, Database db) {
    this(adminPassword, db, ClientAssertionKeys.none(), runtimeTls());
  }

  static Database memoryDatabase() {
    return Database.open(
        "jdbc:h2:mem:idp-"
            + UUID.randomUUID()
            + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1",
        null,
        null,
        4);
  }

  static SSLContext runtimeTls() {
    try {
      return SSLContext.getDefault();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * @param assertionKeys the certificates external providers' private_key_jwt assertions use
   */
  IdpFixture(
      String adminPassword,
      Database db,
      ClientAssertionKeys assertionKeys,
      SSLContext outboundTls) {
    this(adminPassword, db, assertionKeys, outboundTls, s -> {});
  }

  /**
   * @param customize changes the settings before the provider starts
   */
  IdpFixture(
      String adminPassword,
      Database db,
      ClientAssertionKeys assertionKeys,
      SSLContext outboundTls,
      java.util.function.Consumer<Settings> customize) {
    this.db = db;
    this.fence = new GatedFence(Fence.unfenced(db.jdbi()));
    this.assertionKeys = assertionKeys;
    this.outboundTls = outboundTls;
    settings = new Settings();
    settings.http.host = "127.0.0.1";
    settings.http.port = 0;
    settings.node.advertisedUrl = "http://vigil.test:8080";
    try {
      settings.dataDir = java.nio.file.Files.createTempDirectory("vigil-idp-");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    customize.accept(settings);
    idp = newProvider(adminPassword);
    idp.start();
    http = serve(idp);
  }

  IdentityProvider newProvider(String adminPassword) {
    return new IdentityProvider(
        settings,
        db.jdbi(),
        fence,
        protector,
        assertionKeys,
        outboundTls,
        clock,
        adminPassword,
        TEST_ITERATIONS,
        new PrintStream(out, true, StandardCharsets.UTF_8));
  }

  HttpServer serve(IdentityProvider provider) {
    return HttpServer.start(
        settings,
        provider.authenticator(),
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        () -> true,
        List.of(provider.routes()));
  }

  String url(String path) {
    return "http://127.0.0.1:" + http.port() + path;
  }

  HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> json(
      String method, String path, String token, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url(path)))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    headers.forEach(b::header);
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> form(String path, Map<String, String> params, String basicAuth)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url(path)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(encode(params)));
    if (basicAuth != null) {
      b.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder().encodeToString(basicAuth.getBytes(StandardCharsets.UTF_8)));
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A form request whose body is sent exactly as given. */
  HttpResponse<String> rawForm(String path, String body, String basicAuth) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url(path)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (basicAuth != null) {
      b.header(
          "Authorization",
          "Basic "
              + Base64.getEncoder().encodeToString(basicAuth.getBytes(StandardCharsets.UTF_8)));
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> passwordGrant(String username, String password, String scope)
      throws Exception {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("grant_type", "password");
    params.put("client_id", "vigil-cli");
    params.put("username", username);
    params.put("password", password);
    if (scope != null) {
      params.put("scope", scope);
    }
    return form("/idp/connect/token", params, null);
  }

  /** An administrator's access token. */
  String adminToken() throws Exception {
    HttpResponse<String> r = passwordGrant("admin", ADMIN_PASSWORD, null);
    if (r.statusCode() != 200) {
      throw new AssertionError("admin sign-in failed: " + r.body());
    }
    return read(r).get("access_token").asText();
  }

  static JsonNode read(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body());
  }

  static String encode(Map<String, String> params) {
    return params.entrySet().stream()
        .map(
            e ->
                URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                    + "="
                    + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
  }

  long count(String table) {
    return db.jdbi()
        .withHandle(h -> h.createQuery("SELECT COUNT(*) FROM " + table).mapTo(Long.class).one());
  }

  /**
   * A fence that lets a given number of further writes through and then refuses every write, as a
   * node's fence does once another node took the role, until it is opened again (the next owner).
   */
  static final class GatedFence implements Fence {
    private final Fence inner;
    private int writesLeft = Integer.MAX_VALUE;

    GatedFence(Fence inner) {
      this.inner = inner;
    }

    synchronized void depose(int afterWrites) {
      writesLeft = afterWrites;
    }

    synchronized void open() {
      writesLeft = Integer.MAX_VALUE;
    }

    private synchronized void check() {
      if (writesLeft == 0) {
        throw new FencedException("Write refused: this node lost the role; retry on the next.");
      }
      if (writesLeft != Integer.MAX_VALUE) {
        writesLeft--;
      }
    }

    @Override
    public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
      check();
      return inner.write(work);
    }

    @Override
    public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
      return inner.readSettled(work);
    }

    @Override
    public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
      return inner.read(work);
    }
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
    db.close();
  }
}
