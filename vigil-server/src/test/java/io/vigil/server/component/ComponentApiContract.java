package io.vigil.server.component;

import static io.vigil.server.testing.TestApiServer.component;
import static io.vigil.server.testing.TestApiServer.user;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.events.EventStore;
import io.vigil.server.http.HttpServer;
import io.vigil.server.identity.ClientService;
import io.vigil.server.identity.IdentityProvider;
import io.vigil.server.identity.RequestRate;
import io.vigil.server.identity.Secrets;
import io.vigil.server.management.ConfigurationSignal;
import io.vigil.server.management.Devices;
import io.vigil.server.management.ManagementRoutes;
import io.vigil.server.management.ServerConfigurations;
import io.vigil.server.management.ServerRegistry;
import io.vigil.server.management.SiteSettings;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.MutableClock;
import io.vigil.server.testing.TestApiServer;
import io.vigil.server.testing.TestHttp;
import io.vigil.server.testing.TestHttp.Response;
import io.vigil.server.testing.TestProtector;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Registration tokens, component registration and a server's configuration with its long poll, over
 * HTTP, on each database Vigil supports. Bearer tokens map to callers by a table; a component
 * registered here is added to it under {@link #NEW_COMPONENT}.
 */
abstract class ComponentApiContract {

  static final String ADMIN = "admin-token";
  static final String OPERATOR = "operator-token";
  static final String NEW_COMPONENT = "new-component-token";
  static final int REGISTRATIONS_PER_MINUTE = 6;

  Database db;
  HttpServer server;
  HttpServer idp;
  TestHttp http;
  MutableClock clock;
  ConfigurationSignal signal;
  final Map<String, Principal> callers = new ConcurrentHashMap<>();

  abstract Database openDatabase();

  @BeforeEach
  void start() {
    db = openDatabase();
    clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
    signal = new ConfigurationSignal();
    callers.put(ADMIN, user("alice", Role.ADMINISTRATOR));
    callers.put(OPERATOR, user("oscar", Role.OPERATOR));
    Fence fence = Fence.unfenced(db.jdbi());
    ServerRegistry registry =
        new ServerRegistry(fence, db.dialect(), EventStore.siteEvents(), signal);
    server =
        TestApiServer.start(
            callers,
            16 * 1024,
            List.of(
                new ManagementRoutes(
                    registry,
                    new Devices(fence, new TestProtector(), signal),
                    new SiteSettings(fence),
                    new AuditLog(db.jdbi()),
                    new ServerConfigurations(fence),
                    signal,
                    60),
                new ComponentRoutes(
                    new RegistrationTokens(
                        fence,
                        new ClientService(fence, new TestProtector(), clock),
                        registry,
                        clock),
                    new RequestRate(clock, REGISTRATIONS_PER_MINUTE))));
    http = new TestHttp("http://127.0.0.1:" + server.port(), Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() {
    if (idp != null) {
      idp.close();
    }
    server.close();
    db.close();
  }

  Response post(String path, String token, String json) {
    return http.send("POST", path, token, json, Map.of());
  }

  JsonNode createToken(String json) {
    Response r = post("/api/v1/registration-tokens", ADMIN, json);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json();
  }

  Response register(String token, String name, String type) {
    return post(
        "/api/v1/components/register",
        null,
        "{\"registrationToken\":\""
            + token
            + "\",\"server\":{\"name\":\""
            + name
            + "\",\"type\":\""
            + type
            + "\",\"address\":\"https://"
            + name
            + ".example.com:7563\",\"version\":\"1.0\",\"heartbeatIntervalSeconds\":5}}");
  }

  /** Counts of what registration may create or change, to show that a refusal changed nothing. */
  String snapshot() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT (SELECT COUNT(*) FROM servers) || '/' || (SELECT COUNT(*) FROM"
                            + " oauth_clients) || '/' || (SELECT COUNT(*) FROM registration_tokens"
                            + " WHERE used_at IS NOT NULL) || '/' || (SELECT COUNT(*) FROM"
                            + " audit_log)")
                    .mapTo(String.class)
                    .one());
  }

  // ---- registration tokens

  @Test
  void anAdministratorGetsTheTokenOnceAndOnlyItsHashIsStored() {
    JsonNode created = createToken("{\"expiresInSeconds\":600,\"type\":\"recording-server\"}");
    String token = created.get("registrationToken").asText();
    assertThat(token).startsWith("vrt_").hasSizeGreaterThan(40);
    assertThat(created.get("status").asText()).isEqualTo("active");
    assertThat(created.get("type").asText()).isEqualTo("recording-server");
    assertThat(Instant.parse(created.get("expiresAt").asText()))
        .isEqualTo(clock.instant().plusSeconds(600));

    Response list = http.get("/api/v1/registration-tokens", ADMIN);
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.json().get("items")).hasSize(1);
    assertThat(list.body()).doesNotContain(token);
    String stored =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT token_hash FROM registration_tokens")
                        .mapTo(String.class)
                        .one());
    assertThat(stored).isEqualTo(Secrets.sha256(token)).doesNotContain(token);
    JsonNode audit = http.get("/api/v1/audit?objectType=registration_token", ADMIN).json();
    assertThat(audit.get("items").get(0).get("action").asText())
        .isEqualTo("registration_token.create");
    assertThat(audit.toString()).doesNotContain(token);
  }

  @Test
  void withoutABodyATokenLastsAnHourForAnyType() {
    Response r = http.send("POST", "/api/v1/registration-tokens", ADMIN, null, Map.of());
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    assertThat(r.json().get("type").isNull()).isTrue();
    assertThat(Instant.parse(r.json().get("expiresAt").asText()))
        .isEqualTo(clock.instant().plus(Duration.ofHours(1)));
  }

  @Test
  void aLifetimeOutsideOneSecondToSevenDaysIsRefused() {
    for (String body : List.of("{\"expiresInSeconds\":0}", "{\"expiresInSeconds\":604801}")) {
      Response r = post("/api/v1/registration-tokens", ADMIN, body);
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.json().get("code").asText()).isEqualTo("invalid_value");
    }
    Response r = post("/api/v1/registration-tokens", ADMIN, "{\"type\":\"toaster\"}");
    assertThat(r.json().get("code").asText()).isEqualTo("invalid_type");
    assertThat(http.get("/api/v1/registration-tokens", ADMIN).json().get("items")).isEmpty();
  }

  @Test
  void onlyCallersWhoManageUsersManageTokens() {
    assertThat(post("/api/v1/registration-tokens", OPERATOR, "{}").status()).isEqualTo(403);
    assertThat(http.get("/api/v1/registration-tokens", OPERATOR).status()).isEqualTo(403);
    callers.put("component", component("rec-x"));
    assertThat(post("/api/v1/registration-tokens", "component", "{}").status()).isEqualTo(403);
  }

  // ---- registration

  @Test
  void aTokenRegistersTheComponentsClientAndServerTogetherOnce() {
    JsonNode created = createToken("{}");
    String token = created.get("registrationToken").asText();

    Response r = register(token, "rs1", "recording-server");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    JsonNode body = r.json();
    String clientId = body.get("clientId").asText();
    String secret = body.get("clientSecret").asText();
    assertThat(clientId).startsWith("rs1-");
    assertThat(secret).hasSizeGreaterThan(40);
    assertThat(body.get("server").get("name").asText()).isEqualTo("rs1");
    assertThat(body.get("server").get("registeredBy").asText()).isEqualTo(clientId);
    assertThat(r.header("Location"))
        .isEqualTo("/api/v1/servers/" + body.get("server").get("id").asText());

    var client =
        db.jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT client_type, roles, grants, secret_hash FROM oauth_clients"
                                + " WHERE client_id = :id")
                        .bind("id", clientId)
                        .mapToMap()
                        .one());
    assertThat(client.get("client_type")).isEqualTo("confidential");
    assertThat((String) client.get("roles")).contains("component");
    assertThat((String) client.get("grants")).contains("client_credentials");
    assertThat(client.get("secret_hash")).isEqualTo(Secrets.sha256(secret));

    JsonNode listed = http.get("/api/v1/registration-tokens", ADMIN).json().get("items").get(0);
    assertThat(listed.get("status").asText()).isEqualTo("used");
    assertThat(listed.get("usedByClient").asText()).isEqualTo(clientId);
    assertThat(listed.get("serverId").asText()).isEqualTo(body.get("server").get("id").asText());

    callers.put(NEW_COMPONENT, component(clientId));
    String id = body.get("server").get("id").asText();
    Response beat =
        http.send("POST", "/api/v1/servers/" + id + "/heartbeat", NEW_COMPONENT, "{}", Map.of());
    assertThat(beat.status()).as(beat.body()).isEqualTo(200);
    String before = snapshot();
    Response again = register(token, "rs2", "recording-server");
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.json().get("code").asText()).isEqualTo("invalid_registration_token");
    assertThat(snapshot()).isEqualTo(before);
  }

  @Test
  void aUsedTokenAskedAgainBeforeTheFirstHeartbeatAnswersTheSameClientWithANewSecret() {
    String token = createToken("{}").get("registrationToken").asText();
    JsonNode first = register(token, "rs1", "recording-server").json();
    String clientId = first.get("clientId").asText();
    String firstSecret = first.get("clientSecret").asText();
    String serverId = first.get("server").get("id").asText();

    Response again = register(token, "RS1", "recording-server");
    assertThat(again.status()).as(again.body()).isEqualTo(201);
    JsonNode second = again.json();
    assertThat(second.get("clientId").asText()).isEqualTo(clientId);
    assertThat(second.get("server").get("id").asText()).isEqualTo(serverId);
    assertThat(second.get("server").get("name").asText()).isEqualTo("rs1");
    String secondSecret = second.get("clientSecret").asText();
    assertThat(secondSecret).hasSizeGreaterThan(40).isNotEqualTo(firstSecret);
    assertThat(again.header("Location")).isEqualTo("/api/v1/servers/" + serverId);

    assertThat(clientCredentialsGrant(clientId, firstSecret)).isEqualTo(401);
    assertThat(clientCredentialsGrant(clientId, secondSecret)).isEqualTo(200);
    assertThat(http.get("/api/v1/servers", ADMIN).json().get("items")).hasSize(1);
    JsonNode audit = http.get("/api/v1/audit?objectType=registration_token", ADMIN).json();
    assertThat(audit.get("items").get(0).get("action").asText())
        .isEqualTo("registration_token.redeem_again");
    assertThat(audit.toString()).doesNotContain(token, firstSecret, secondSecret);
  }

  @Test
  void aUsedTokenIsSpentForGoodOnceItsServerHasSentAHeartbeat() {
    String token = createToken("{}").get("registrationToken").asText();
    JsonNode first = register(token, "rs1", "recording-server").json();
    String clientId = first.get("clientId").asText();
    String secret = first.get("clientSecret").asText();
    callers.put(NEW_COMPONENT, component(clientId));
    Response beat =
        http.send(
            "POST",
            "/api/v1/servers/" + first.get("server").get("id").asText() + "/heartbeat",
            NEW_COMPONENT,
            "{}",
            Map.of());
    assertThat(beat.status()).as(beat.body()).isEqualTo(200);

    String before = snapshot();
    Response again = register(token, "rs1", "recording-server");
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.json().get("code").asText()).isEqualTo("invalid_registration_token");
    assertThat(snapshot()).isEqualTo(before);
    assertThat(clientCredentialsGrant(clientId, secret)).isEqualTo(200);
  }

  @Test
  void aUsedTokenAskedAgainForAnotherServerIsRefusedAndChangesNothing() {
    String token = createToken("{}").get("registrationToken").asText();
    JsonNode first = register(token, "rs1", "recording-server").json();
    String hash = secretHash(first.get("clientId").asText());
    String before = snapshot();

    Response otherName = register(token, "rs2", "recording-server");
    assertThat(otherName.status()).isEqualTo(401);
    assertThat(otherName.json().get("code").asText()).isEqualTo("invalid_registration_token");
    Response otherType = register(token, "rs1", "mobile-server");
    assertThat(otherType.status()).isEqualTo(401);
    assertThat(otherType.json().get("code").asText()).isEqualTo("invalid_registration_token");
    assertThat(snapshot()).isEqualTo(before);
    assertThat(secretHash(first.get("clientId").asText()))
        .isEqualTo(hash)
        .isEqualTo(Secrets.sha256(first.get("clientSecret").asText()));
  }

  @Test
  void anExpiredUsedTokenIsRefusedAndChangesNothing() {
    String token = createToken("{\"expiresInSeconds\":60}").get("registrationToken").asText();
    JsonNode first = register(token, "rs1", "recording-server").json();
    clock.advance(Duration.ofSeconds(60));
    String before = snapshot();

    Response again = register(token, "rs1", "recording-server");
    assertThat(again.status()).isEqualTo(401);
    assertThat(again.json().get("code").asText()).isEqualTo("invalid_registration_token");
    assertThat(snapshot()).isEqualTo(before);
    assertThat(secretHash(first.get("clientId").asText()))
        .isEqualTo(Secrets.sha256(first.get("clientSecret").asText()));
  }

  String secretHash(String clientId) {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT secret_hash FROM oauth_clients WHERE client_id = :id")
                    .bind("id", clientId)
                    .mapTo(String.class)
                    .one());
  }

  /**
   * The status of a client credentials grant at the token endpoint, as a component gets its access
   * tokens: from an identity provider on the same database, started on first use.
   */
  int clientCredentialsGrant(String clientId, String secret) {
    if (idp == null) {
      Settings settings = new Settings();
      settings.http.host = "127.0.0.1";
      settings.http.port = 0;
      settings.node.advertisedUrl = "http://vigil.test:8080";
      IdentityProvider provider =
          new IdentityProvider(
              settings,
              db.jdbi(),
              Fence.unfenced(db.jdbi()),
              new TestProtector(),
              clock,
              "correct horse battery staple",
              1_000,
              new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8));
      provider.start();
      idp =
          HttpServer.start(
              settings,
              provider.authenticator(),
              new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
              () -> true,
              List.of(provider.routes()));
    }
    String basic =
        Base64.getEncoder()
            .encodeToString((clientId + ":" + secret).getBytes(StandardCharsets.UTF_8));
    Response r =
        new TestHttp("http://127.0.0.1:" + idp.port(), Duration.ofSeconds(30))
            .form(
                "/idp/connect/token",
                "grant_type=client_credentials&scope=vigil.api",
                Map.of("Authorization", "Basic " + basic));
    return r.status();
  }

  @Test
  void theRegisteredComponentMayChangeOnlyItsOwnServer() {
    String token = createToken("{}").get("registrationToken").asText();
    JsonNode body = register(token, "rs1", "recording-server").json();
    callers.put(NEW_COMPONENT, component(body.get("clientId").asText()));
    String id = body.get("server").get("id").asText();
    Response beat =
        http.send("POST", "/api/v1/servers/" + id + "/heartbeat", NEW_COMPONENT, "{}", Map.of());
    assertThat(beat.status()).as(beat.body()).isEqualTo(200);

    Response other =
        post(
            "/api/v1/servers",
            OPERATOR,
            "{\"name\":\"other\",\"type\":\"recording-server\",\"address\":\"http://o.local\"}");
    Response refused =
        http.send(
            "POST",
            "/api/v1/servers/" + other.json().get("id").asText() + "/heartbeat",
            NEW_COMPONENT,
            "{}",
            Map.of());
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.json().get("code").asText()).isEqualTo("not_your_server");
  }

  @Test
  void anUnknownOrExpiredTokenIsRefusedAndChangesNothing() {
    String token = createToken("{\"expiresInSeconds\":60}").get("registrationToken").asText();
    String before = snapshot();
    Response unknown = register("vrt_" + "x".repeat(43), "rs1", "recording-server");
    assertThat(unknown.status()).isEqualTo(401);
    assertThat(unknown.json().get("code").asText()).isEqualTo("invalid_registration_token");

    clock.advance(Duration.ofSeconds(60));
    Response expired = register(token, "rs1", "recording-server");
    assertThat(expired.status()).isEqualTo(401);
    assertThat(expired.json().get("code").asText()).isEqualTo("invalid_registration_token");
    assertThat(snapshot()).isEqualTo(before);
    assertThat(
            http.get("/api/v1/registration-tokens", ADMIN)
                .json()
                .get("items")
                .get(0)
                .get("status")
                .asText())
        .isEqualTo("expired");
  }

  @Test
  void aRefusedRegistrationLeavesTheTokenUsable() {
    String token = createToken("{\"type\":\"recording-server\"}").get("registrationToken").asText();
    post(
        "/api/v1/servers",
        OPERATOR,
        "{\"name\":\"taken\",\"type\":\"recording-server\",\"address\":\"http://t.local\"}");
    String before = snapshot();

    Response wrongType = register(token, "ms1", "mobile-server");
    assertThat(wrongType.status()).isEqualTo(403);
    assertThat(wrongType.json().get("code").asText()).isEqualTo("type_not_allowed");
    Response taken = register(token, "TAKEN", "recording-server");
    assertThat(taken.status()).isEqualTo(409);
    assertThat(taken.json().get("code").asText()).isEqualTo("duplicate_name");
    Response invalid = register(token, "", "recording-server");
    assertThat(invalid.status()).isEqualTo(400);
    Response missing = post("/api/v1/components/register", null, "{\"server\":null}");
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.json().get("code").asText()).isEqualTo("missing_field");
    assertThat(snapshot()).isEqualTo(before);

    assertThat(register(token, "rs1", "recording-server").status()).isEqualTo(201);
  }

  @Test
  void aRevokedTokenRegistersNothing() {
    JsonNode created = createToken("{}");
    Response revoked =
        http.send(
            "DELETE",
            "/api/v1/registration-tokens/" + created.get("id").asText(),
            ADMIN,
            null,
            Map.of());
    assertThat(revoked.status()).isEqualTo(204);
    Response r = register(created.get("registrationToken").asText(), "rs1", "recording-server");
    assertThat(r.status()).isEqualTo(401);
    assertThat(http.get("/api/v1/registration-tokens", ADMIN).json().get("items")).isEmpty();
    JsonNode audit = http.get("/api/v1/audit?objectType=registration_token", ADMIN).json();
    assertThat(audit.get("items").get(0).get("action").asText())
        .isEqualTo("registration_token.revoke");
    Response again =
        http.send(
            "DELETE",
            "/api/v1/registration-tokens/" + created.get("id").asText(),
            ADMIN,
            null,
            Map.of());
    assertThat(again.status()).isEqualTo(404);
  }

  @Test
  void registrationsFromOneAddressAreRateLimited() {
    for (int i = 0; i < REGISTRATIONS_PER_MINUTE; i++) {
      assertThat(register("vrt_guess" + i, "rs" + i, "recording-server").status()).isEqualTo(401);
    }
    Response limited = register("vrt_guess", "rs", "recording-server");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.json().get("code").asText()).isEqualTo("too_many_requests");
    assertThat(Long.parseLong(limited.header("Retry-After"))).isBetween(1L, 60L);
    clock.advance(Duration.ofSeconds(60));
    assertThat(register("vrt_guess", "rs", "recording-server").status()).isEqualTo(401);
  }

  // ---- configuration

  JsonNode recorderWithCamera(String name) {
    JsonNode s =
        post(
                "/api/v1/servers",
                OPERATOR,
                "{\"name\":\""
                    + name
                    + "\",\"type\":\"recording-server\",\"address\":\"http://"
                    + name
                    + ".local\"}")
            .json();
    JsonNode hw =
        post(
                "/api/v1/hardware",
                OPERATOR,
                "{\"name\":\""
                    + name
                    + "-hw\",\"recordingServerId\":\""
                    + s.get("id").asText()
                    + "\",\"address\":\"http://10.0.0.5\",\"password\":\"p\"}")
            .json();
    post(
        "/api/v1/cameras",
        OPERATOR,
        "{\"name\":\""
            + name
            + "-cam1\",\"hardwareId\":\""
            + hw.get("id").asText()
            + "\",\"channel\":1}");
    return s;
  }

  @Test
  void theConfigurationHoldsTheServerItsHardwareAndCamerasWithAnEtag() {
    JsonNode s = recorderWithCamera("rec-a");
    recorderWithCamera("rec-b");
    String id = s.get("id").asText();
    Response r = http.get("/api/v1/servers/" + id + "/configuration", OPERATOR);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode c = r.json();
    assertThat(c.get("server").get("name").asText()).isEqualTo("rec-a");
    assertThat(c.get("server").get("enabled").asBoolean()).isTrue();
    assertThat(c.get("hardware")).hasSize(1);
    assertThat(c.get("hardware").get(0).get("passwordSet").asBoolean()).isTrue();
    assertThat(c.get("cameras")).hasSize(1);
    assertThat(c.get("cameras").get(0).get("name").asText()).isEqualTo("rec-a-cam1");
    assertThat(c.has("etag")).isFalse();
    assertThat(r.body()).doesNotContain("\"p\"");
    String etag = r.header("ETag");
    assertThat(etag).startsWith("\"c-");

    Response same =
        http.send(
            "GET",
            "/api/v1/servers/" + id + "/configuration",
            OPERATOR,
            null,
            Map.of("If-None-Match", etag));
    assertThat(same.status()).isEqualTo(304);
    http.send(
        "POST", "/api/v1/servers/" + id + "/heartbeat", OPERATOR, "{\"cpuPercent\":5}", Map.of());
    assertThat(http.get("/api/v1/servers/" + id + "/configuration", OPERATOR).header("ETag"))
        .as("a heartbeat is no change of configuration")
        .isEqualTo(etag);
  }

  @Test
  void aLongPollAnswersAsSoonAsACameraOfTheServerChanges() throws Exception {
    JsonNode s = recorderWithCamera("rec-a");
    String id = s.get("id").asText();
    Response first = http.get("/api/v1/servers/" + id + "/configuration", OPERATOR);
    String etag = first.header("ETag");
    String camera = first.json().get("cameras").get(0).get("id").asText();

    long started = System.nanoTime();
    CompletableFuture<HttpResponse<String>> poll = poll(id, etag, 30);
    awaitWaiters(1);
    Response changed =
        http.send(
            "PATCH",
            "/api/v1/cameras/" + camera,
            OPERATOR,
            "{\"enabled\":false}",
            Map.of("If-Match", "\"1\""));
    assertThat(changed.status()).as(changed.body()).isEqualTo(200);
    HttpResponse<String> answer = poll.get(20, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().firstValue("ETag")).isPresent().get().isNotEqualTo(etag);
    assertThat(answer.body()).contains("\"enabled\":false");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
    assertThat(signal.waiting()).isZero();
  }

  @Test
  void aLongPollWithNothingChangedAnswers304WhenItsWaitEnds() throws Exception {
    JsonNode s = recorderWithCamera("rec-a");
    JsonNode other = recorderWithCamera("rec-b");
    String id = s.get("id").asText();
    String etag = http.get("/api/v1/servers/" + id + "/configuration", OPERATOR).header("ETag");
    long started = System.nanoTime();
    CompletableFuture<HttpResponse<String>> poll = poll(id, etag, 2);
    awaitWaiters(1);
    // A change to another server wakes nobody waiting for this one.
    http.send(
        "PATCH",
        "/api/v1/servers/" + other.get("id").asText(),
        OPERATOR,
        "{\"version\":\"2\"}",
        Map.of("If-Match", "\"1\""));
    HttpResponse<String> answer = poll.get(20, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).isEqualTo(304);
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofMillis(1900));
  }

  @Test
  void aStaleEtagIsAnsweredAtOnceAndABadWaitIsRefused() throws Exception {
    String id = recorderWithCamera("rec-a").get("id").asText();
    HttpResponse<String> stale = poll(id, "\"c-old\"", 60).get(10, TimeUnit.SECONDS);
    assertThat(stale.statusCode()).isEqualTo(200);
    for (String wait : List.of("-1", "61", "soon")) {
      Response r = http.get("/api/v1/servers/" + id + "/configuration?wait=" + wait, OPERATOR);
      assertThat(r.status()).as(wait).isEqualTo(400);
      assertThat(r.json().get("code").asText()).isEqualTo("invalid_wait");
    }
    assertThat(
            http.get("/api/v1/servers/" + java.util.UUID.randomUUID() + "/configuration", OPERATOR)
                .status())
        .isEqualTo(404);
  }

  @Test
  void aServerUnregisteredDuringALongPollIsA404() throws Exception {
    JsonNode s =
        post(
                "/api/v1/servers",
                OPERATOR,
                "{\"name\":\"gone\",\"type\":\"recording-server\",\"address\":\"http://g.local\"}")
            .json();
    String id = s.get("id").asText();
    String etag = http.get("/api/v1/servers/" + id + "/configuration", OPERATOR).header("ETag");
    CompletableFuture<HttpResponse<String>> poll = poll(id, etag, 30);
    awaitWaiters(1);
    assertThat(http.send("DELETE", "/api/v1/servers/" + id, OPERATOR, null, Map.of()).status())
        .isEqualTo(204);
    HttpResponse<String> answer = poll.get(20, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).isEqualTo(404);
    assertThat(answer.body()).contains("\"code\"");
  }

  private final HttpClient client = HttpClient.newHttpClient();

  CompletableFuture<HttpResponse<String>> poll(String id, String etag, int wait) {
    return client.sendAsync(
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + server.port()
                        + "/api/v1/servers/"
                        + id
                        + "/configuration?wait="
                        + wait))
            .header("Authorization", "Bearer " + OPERATOR)
            .header("If-None-Match", etag)
            .timeout(Duration.ofSeconds(90))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Waits (bounded, without sleeping) until the node holds {@code n} long polls, so that a change
   * made next comes after they started waiting.
   */
  void awaitWaiters(int n) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (signal.waiting() < n) {
      assertThat(System.nanoTime()).as("the poll reached the node").isLessThan(deadline);
      Thread.yield();
    }
  }
}
