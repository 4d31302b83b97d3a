package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Both ways of registering, against scripted answers, without a network or a sleep. */
class ComponentRegistrationTest {

  private static final URI A = URI.create("http://a:8080");
  private static final URI B = URI.create("http://b:8080");
  private static final NewServer RS1 =
      new NewServer("rs1", "recording-server", "https://rs1.example.com:7563", "1.0", 5);

  /** A scripted answer: may look at what was sent. */
  interface Answer {
    Transport.Reply answer(Transport.Call call) throws IOException;
  }

  private final AtomicLong now = new AtomicLong();
  private final List<String> sent = new ArrayList<>();
  private final List<String> bodies = new ArrayList<>();
  private final Deque<Answer> script = new ArrayDeque<>();
  private String clientId;

  private ComponentRegistration registration() {
    return new ComponentRegistration(
        List.of(A, B),
        (node, call, token) -> {
          sent.add(call.method() + " " + node + call.path() + " " + (token == null ? "-" : token));
          String body = call.body() == null ? "" : new String(call.body(), StandardCharsets.UTF_8);
          bodies.add(body);
          if (call.path().equals("/api/v1/clients") && call.method().equals("POST")) {
            clientId = ApiJson.tree(body).path("clientId").asText();
          }
          Answer next = script.poll();
          if (next == null) {
            throw new AssertionError("no scripted answer for " + call.path());
          }
          return next.answer(call);
        },
        Duration.ofSeconds(5),
        d -> now.addAndGet(d.toNanos()),
        now::get);
  }

  private static Transport.Reply reply(int status, String body) {
    return new Transport.Reply(status, body, null, null, null);
  }

  private String server(String registeredBy) {
    return "{\"id\":\"00000000-0000-0000-0000-000000000001\",\"name\":\"rs1\",\"type\":"
        + "\"recording-server\",\"address\":\"https://rs1.example.com:7563\",\"status\":"
        + "\"unknown\",\"revision\":1,\"heartbeatIntervalSeconds\":5,\"registeredBy\":"
        + (registeredBy == null ? "null" : "\"" + registeredBy + "\"")
        + "}";
  }

  @Test
  void aTokenRegistersInOneCallWithoutABearerToken() {
    script.add(
        c ->
            reply(
                201,
                "{\"clientId\":\"rs1-0a0b0c0d\",\"clientSecret\":\"s3cret\",\"server\":"
                    + server("rs1-0a0b0c0d")
                    + "}"));
    ComponentRegistration.Registered r = registration().withToken("vrt_abc", RS1);

    assertThat(r.credentials().clientId()).isEqualTo("rs1-0a0b0c0d");
    assertThat(r.credentials().secret()).isEqualTo("s3cret");
    assertThat(r.server().name()).isEqualTo("rs1");
    assertThat(sent).containsExactly("POST http://a:8080/api/v1/components/register -");
    assertThat(ApiJson.tree(bodies.getFirst()).path("registrationToken").asText())
        .isEqualTo("vrt_abc");
    assertThat(ApiJson.tree(bodies.getFirst()).path("server").path("name").asText())
        .isEqualTo("rs1");
  }

  @Test
  void aTokenRegistrationFollowsAStandbysRedirect() {
    script.add(c -> new Transport.Reply(307, "", null, null, "http://b:8080/api/v1/x"));
    script.add(
        c ->
            reply(
                201, "{\"clientId\":\"c\",\"clientSecret\":\"s\",\"server\":" + server("c") + "}"));
    registration().withToken("vrt_abc", RS1);
    assertThat(sent)
        .containsExactly(
            "POST http://a:8080/api/v1/components/register -",
            "POST http://b:8080/api/v1/components/register -");
  }

  @Test
  void aTokenRegistrationWhoseFirstAttemptBreaksIsSentAgainAndReturnsTheSecondAnswer() {
    script.add(
        c -> {
          throw new IOException("HTTP/1.1 header parser received no bytes");
        });
    script.add(
        c ->
            reply(
                201,
                "{\"clientId\":\"rs1-0a0b0c0d\",\"clientSecret\":\"second\",\"server\":"
                    + server("rs1-0a0b0c0d")
                    + "}"));
    ComponentRegistration.Registered r = registration().withToken("vrt_abc", RS1);

    assertThat(r.credentials().clientId()).isEqualTo("rs1-0a0b0c0d");
    assertThat(r.credentials().secret()).isEqualTo("second");
    assertThat(r.server().name()).isEqualTo("rs1");
    assertThat(sent)
        .containsExactly(
            "POST http://a:8080/api/v1/components/register -",
            "POST http://b:8080/api/v1/components/register -");
    assertThat(bodies.get(1)).isEqualTo(bodies.get(0));
  }

  @Test
  void aTokenRegistrationWithoutAnAnswerWithinTheFailoverTimeFailsAsUnreachable() {
    for (int i = 0; i < 100; i++) {
      script.add(
          c -> {
            throw new IOException("connection reset during the exchange");
          });
    }
    assertThatThrownBy(() -> registration().withToken("vrt_abc", RS1))
        .isInstanceOfSatisfying(
            VigilException.class,
            e -> {
              assertThat(e.status()).isZero();
              assertThat(e.code()).isEqualTo("unreachable");
            });
    assertThat(sent).hasSizeGreaterThan(1);
  }

  @Test
  void aUsedTokenIsRefusedWithItsCode() {
    script.add(c -> reply(401, "{\"code\":\"invalid_registration_token\",\"message\":\"used\"}"));
    assertThatThrownBy(() -> registration().withToken("vrt_abc", RS1))
        .isInstanceOfSatisfying(
            VigilException.class,
            e -> assertThat(e.code()).isEqualTo("invalid_registration_token"));
  }

  @Test
  void anAdministratorCreatesTheClientAndTheServerIsRegisteredAsThatClient() {
    script.add(c -> reply(200, "{\"access_token\":\"admin-token\",\"expires_in\":300}"));
    script.add(c -> reply(201, "{\"clientId\":\"x\",\"clientSecret\":\"client-secret\"}"));
    script.add(c -> reply(200, "{\"access_token\":\"component-token\",\"expires_in\":300}"));
    script.add(c -> reply(201, server(clientId)));
    ComponentRegistration.Registered r =
        registration().withAdministrator("admin", "pa ss&word", RS1);

    assertThat(r.credentials().clientId()).isEqualTo(clientId).startsWith("rs1-");
    assertThat(r.credentials().secret()).isEqualTo("client-secret");
    assertThat(r.server().name()).isEqualTo("rs1");
    assertThat(sent)
        .containsExactly(
            "POST http://a:8080/idp/connect/token -",
            "POST http://a:8080/api/v1/clients admin-token",
            "POST http://a:8080/idp/connect/token -",
            "POST http://a:8080/api/v1/servers component-token");
    assertThat(bodies.get(0))
        .contains("grant_type=password", "client_id=vigil-cli", "scope=openid+vigil.api")
        .contains("password=pa+ss%26word");
    assertThat(ApiJson.tree(bodies.get(1)).path("roles").get(0).asText()).isEqualTo("component");
    assertThat(bodies.get(2))
        .contains("grant_type=client_credentials", "client_secret=client-secret");
  }

  @Test
  void aRefusedServerRegistrationDeletesTheNewClientAgain() {
    script.add(c -> reply(200, "{\"access_token\":\"admin-token\"}"));
    script.add(c -> reply(201, "{\"clientSecret\":\"client-secret\"}"));
    script.add(c -> reply(200, "{\"access_token\":\"component-token\"}"));
    script.add(c -> reply(409, "{\"code\":\"duplicate_name\",\"message\":\"taken\"}"));
    script.add(c -> reply(204, ""));
    assertThatThrownBy(() -> registration().withAdministrator("admin", "pw", RS1))
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("duplicate_name"));
    assertThat(sent.getLast())
        .isEqualTo("DELETE http://a:8080/api/v1/clients/" + clientId + " admin-token");
  }

  @Test
  void anUnknownOutcomeOfTheServerRegistrationIsResolvedByLookingItUp() {
    script.add(c -> reply(200, "{\"access_token\":\"admin-token\"}"));
    script.add(c -> reply(201, "{\"clientSecret\":\"client-secret\"}"));
    script.add(c -> reply(200, "{\"access_token\":\"component-token\"}"));
    script.add(
        c -> {
          throw new IOException("connection reset during the exchange");
        });
    script.add(
        c ->
            reply(
                200,
                "{\"items\":["
                    + server("someone-else").replace("\"rs1\"", "\"rs0\"")
                    + ","
                    + server(clientId)
                    + "],\"nextCursor\":null}"));
    ComponentRegistration.Registered r = registration().withAdministrator("admin", "pw", RS1);
    assertThat(r.server().name()).isEqualTo("rs1");
    assertThat(sent.getLast())
        .isEqualTo("GET http://a:8080/api/v1/servers?limit=500&type=recording-server admin-token");
  }

  @Test
  void aRefusedPasswordIsAnAuthenticationFailure() {
    script.add(c -> reply(400, "{\"error\":\"invalid_grant\",\"error_description\":\"no\"}"));
    assertThatThrownBy(() -> registration().withAdministrator("admin", "wrong", RS1))
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("authentication_failed"));
  }

  @Test
  void aClientIdIsTheNameInAllowedCharactersWithARandomSuffix() {
    assertThat(ComponentRegistration.clientId("Recorder 1 / Hall"))
        .matches("recorder-1-hall-[0-9a-f]{8}");
    assertThat(ComponentRegistration.clientId("!!!")).matches("component-[0-9a-f]{8}");
    assertThat(ComponentRegistration.clientId("x".repeat(100))).hasSize(49);
  }
}
