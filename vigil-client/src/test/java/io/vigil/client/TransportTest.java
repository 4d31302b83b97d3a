package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TransportTest {

  private static final URI A = URI.create("http://a:8080");
  private static final URI B = URI.create("http://b:8080");
  private static final URI C = URI.create("http://c:8080");

  private final AtomicLong now = new AtomicLong();
  private final List<Duration> waits = new ArrayList<>();
  private final List<String> sent = new ArrayList<>();
  private final Deque<Object> script = new ArrayDeque<>();
  private final List<String> tokensIssued = new ArrayList<>();

  /** Answers from the script, in order: a Reply, or an IOException to throw. */
  private Transport transport(Duration failoverTime) {
    Transport t =
        new Transport(
            List.of(A, B, C),
            (node, call, token) -> {
              sent.add(
                  call.method() + " " + node + call.path() + (token == null ? "" : " " + token));
              Object next = script.poll();
              if (next == null) {
                throw new AssertionError("no scripted answer for " + node + call.path());
              }
              if (next instanceof IOException e) {
                throw e;
              }
              return (Transport.Reply) next;
            },
            failoverTime,
            Backoff.DEFAULT,
            d -> {
              waits.add(d);
              now.addAndGet(d.toNanos());
            },
            now::get,
            () -> 0.5);
    t.tokens(
        new Transport.Tokens() {
          private String token;

          @Override
          public String token(Transport transport) {
            if (token == null) {
              token = "t" + (tokensIssued.size() + 1);
              tokensIssued.add(token);
            }
            return token;
          }

          @Override
          public boolean invalidate(String refused) {
            if (refused.equals(token)) {
              token = null;
            }
            return true;
          }
        });
    return t;
  }

  private static Transport.Reply reply(int status, String body) {
    return new Transport.Reply(status, body, null, null, null);
  }

  private static Transport.Reply redirect(String location) {
    return new Transport.Reply(307, "", null, null, location);
  }

  private static Transport.Reply unavailable(String code, String retryAfter) {
    return new Transport.Reply(
        503, "{\"code\":\"" + code + "\",\"message\":\"m\"}", null, retryAfter, null);
  }

  private static Transport.Call post(boolean idempotent) {
    return new Transport.Call(
        "POST", "/api/v1/events", new byte[] {'{', '}'}, "application/json", idempotent, true);
  }

  private static Transport.Call get() {
    return new Transport.Call("GET", "/api/v1/servers", null, null, true, true);
  }

  @Test
  void aStandbysRedirectSendsTheCallToTheActiveNodeAndLaterCallsGoThereFirst() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(redirect("http://b:8080/api/v1/servers"));
    script.add(reply(200, "{}"));
    script.add(reply(200, "{}"));

    assertThat(t.send(get()).status()).isEqualTo(200);
    assertThat(t.active()).isEqualTo(B);
    assertThat(t.send(get()).status()).isEqualTo(200);

    assertThat(sent)
        .containsExactly(
            "GET http://a:8080/api/v1/servers t1",
            "GET http://b:8080/api/v1/servers t1",
            "GET http://b:8080/api/v1/servers t1");
    assertThat(waits).as("a redirect needs no wait").isEmpty();
  }

  @Test
  void aNodeThatRefusesConnectionsIsSkippedEvenForACallThatIsNotIdempotent() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(new ConnectException("refused"));
    script.add(reply(201, "{}"));

    assertThat(t.send(post(false)).status()).isEqualTo(201);

    assertThat(sent)
        .extracting(s -> s.split(" ")[1])
        .containsExactly("http://a:8080/api/v1/events", "http://b:8080/api/v1/events");
    assertThat(t.active()).isEqualTo(B);
  }

  @Test
  void noActiveNodeIsRetriedOnTheNextNodeAfterTheServersRetryAfterUntilOneServes() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(unavailable("no_active_node", "1"));
    script.add(unavailable("no_active_node", "1"));
    script.add(redirect("http://a:8080/api/v1/events"));
    script.add(unavailable("resource_starting", "1"));
    script.add(reply(201, "{}"));

    assertThat(t.send(post(false)).status())
        .as("a node that did not act may be asked again, even for a call that is not idempotent")
        .isEqualTo(201);

    assertThat(sent)
        .extracting(s -> s.split(" ")[1])
        .containsExactly(
            "http://a:8080/api/v1/events",
            "http://b:8080/api/v1/events",
            "http://c:8080/api/v1/events",
            "http://a:8080/api/v1/events",
            "http://a:8080/api/v1/events");
    assertThat(waits).hasSize(3).allMatch(w -> w.compareTo(Duration.ofSeconds(1)) >= 0);
    assertThat(t.active()).isEqualTo(A);
  }

  @Test
  void anUnknownOutcomeIsRetriedForAnIdempotentCall() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(new HttpTimeoutException("timed out"));
    script.add(unavailable("database_unavailable", null));
    script.add(reply(201, "{}"));

    assertThat(t.send(post(true)).status()).isEqualTo(201);
    assertThat(sent).hasSize(3);
    assertThat(waits).hasSize(2);
  }

  @Test
  void anUnknownOutcomeFailsACallThatIsNotIdempotent() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(new IOException("connection reset"));

    assertThatThrownBy(() -> t.send(post(false)))
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("unreachable"));
    assertThat(sent).hasSize(1);
  }

  @Test
  void anUnknownServerErrorIsReturnedToACallThatIsNotIdempotent() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(unavailable("database_unavailable", null));

    assertThat(t.send(post(false)).status()).isEqualTo(503);
    assertThat(sent).hasSize(1);
  }

  @Test
  void aCallGivesUpAfterItsFailoverTimeNamingWhatItSawLast() {
    Transport t = transport(Duration.ofSeconds(5));
    for (int i = 0; i < 100; i++) {
      script.add(new ConnectException("refused"));
    }

    assertThatThrownBy(() -> t.send(get()))
        .isInstanceOfSatisfying(
            VigilException.class,
            e -> {
              assertThat(e.code()).isEqualTo("unreachable");
              assertThat(e.status()).isZero();
            });
    assertThat(now.get()).isLessThanOrEqualTo(Duration.ofSeconds(5).toNanos());
    assertThat(sent.size()).isBetween(4, 20);

    script.clear();
    for (int i = 0; i < 100; i++) {
      script.add(unavailable("no_active_node", "1"));
    }
    assertThatThrownBy(() -> t.send(get()))
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("no_active_node"));
  }

  @Test
  void aRefusedTokenIsReplacedOnceAndNotInALoop() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(reply(401, "{\"code\":\"invalid_token\",\"message\":\"m\"}"));
    script.add(reply(200, "{}"));
    assertThat(t.send(get()).status()).isEqualTo(200);
    assertThat(tokensIssued).containsExactly("t1", "t2");

    script.add(reply(401, "{\"code\":\"invalid_token\",\"message\":\"m\"}"));
    script.add(reply(401, "{\"code\":\"invalid_token\",\"message\":\"m\"}"));
    assertThat(t.send(get()).status()).isEqualTo(401);
    assertThat(tokensIssued).hasSize(3);
  }

  @Test
  void aRedirectLoopWaitsAndStartsAgainSinceNoNodeActed() {
    Transport t = transport(Duration.ofSeconds(30));
    for (int i = 0; i < 6; i++) {
      script.add(
          redirect(i % 2 == 0 ? "http://b:8080/api/v1/events" : "http://a:8080/api/v1/events"));
    }
    script.add(reply(201, "{}"));

    assertThat(t.send(post(false)).status())
        .as("nodes that disagree about the owner for a moment, as during a failover")
        .isEqualTo(201);
    assertThat(waits).hasSize(1);
  }

  @Test
  void aRedirectLoopEndsWhenTheFailoverTimeRunsOut() {
    Transport t = transport(Duration.ofSeconds(3));
    for (int i = 0; i < 200; i++) {
      script.add(redirect(i % 2 == 0 ? "http://b:8080/x" : "http://a:8080/x"));
    }
    assertThatThrownBy(() -> t.send(get()))
        .isInstanceOfSatisfying(
            VigilException.class, e -> assertThat(e.code()).isEqualTo("too_many_redirects"));
    assertThat(now.get()).isLessThanOrEqualTo(Duration.ofSeconds(3).toNanos());
  }

  @Test
  void aFencedWriteIsRetriedForEveryCallSinceItWasRolledBack() {
    Transport t = transport(Duration.ofSeconds(30));
    script.add(unavailable("fenced", null));
    script.add(reply(201, "{}"));

    assertThat(t.send(post(false)).status()).isEqualTo(201);
    assertThat(sent).hasSize(2);
  }

  @Test
  void aNodeBehindAReverseProxyKeepsItsBasePathAndAStandbyRedirectsToTheActiveNodesBase() {
    URI proxied = VigilClient.Builder.node("https://Proxy.example.com/vigil/");
    assertThat(proxied).isEqualTo(URI.create("https://Proxy.example.com/vigil"));
    assertThat(Transport.url(proxied, "/api/v1/servers?limit=5"))
        .isEqualTo(URI.create("https://Proxy.example.com/vigil/api/v1/servers?limit=5"));

    assertThat(
            Transport.redirected(
                proxied,
                "https://b.example.com/vigil/api/v1/servers?limit=5",
                "/api/v1/servers?limit=5"))
        .isEqualTo(URI.create("https://b.example.com/vigil"));
    assertThat(
            Transport.redirected(
                proxied, "https://b.example.com/vigil/api/v1/servers", "/api/v1/servers?limit=5"))
        .as("a Location without the query still names the base")
        .isEqualTo(URI.create("https://b.example.com/vigil"));
    assertThat(Transport.redirected(A, "http://b:8080/elsewhere", "/api/v1/servers"))
        .as("a Location that does not end with the path names the node by its origin")
        .isEqualTo(B);
  }

  @Test
  void aCallToANodeWithABasePathGoesBelowIt() {
    URI proxied = URI.create("http://p:8080/vigil");
    List<String> urls = new ArrayList<>();
    Transport t =
        new Transport(
            List.of(proxied),
            (node, call, token) -> {
              urls.add(Transport.url(node, call.path()).toString());
              return urls.size() == 1
                  ? redirect("http://q:8080/vigil/api/v1/servers")
                  : reply(200, "{}");
            },
            Duration.ofSeconds(30),
            Backoff.DEFAULT,
            waits::add,
            now::get,
            () -> 0.5);
    t.tokens(
        new Transport.Tokens() {
          @Override
          public String token(Transport transport) {
            return "t";
          }

          @Override
          public boolean invalidate(String refused) {
            return true;
          }
        });

    assertThat(t.send(get()).status()).isEqualTo(200);

    assertThat(urls)
        .containsExactly(
            "http://p:8080/vigil/api/v1/servers", "http://q:8080/vigil/api/v1/servers");
    assertThat(t.active()).isEqualTo(URI.create("http://q:8080/vigil"));
  }

  @Test
  void aRefusedTokenThatCannotBeRenewedReturnsThe401WithoutSendingAgain() {
    List<String> calls = new ArrayList<>();
    Transport t =
        new Transport(
            List.of(A),
            (node, call, token) -> {
              calls.add(token);
              return reply(401, "{\"code\":\"invalid_token\",\"message\":\"expired\"}");
            },
            Duration.ofSeconds(30),
            Backoff.DEFAULT,
            waits::add,
            now::get,
            () -> 0.5);
    t.tokens(
        new Transport.Tokens() {
          @Override
          public String token(Transport transport) {
            return "stale";
          }

          @Override
          public boolean invalidate(String refused) {
            return false;
          }
        });

    assertThat(t.send(get()).status()).isEqualTo(401);
    assertThat(calls).containsExactly("stale");
  }

  @Test
  void aTlsFailureInsideAnIoExceptionIsInvalidCertificateWithTheSslExceptionAsCause() {
    Transport t = transport(Duration.ofSeconds(30));
    javax.net.ssl.SSLHandshakeException ssl =
        new javax.net.ssl.SSLHandshakeException("PKIX path building failed");
    script.add(new IOException("handshake", ssl));

    assertThatThrownBy(() -> t.send(get()))
        .isInstanceOfSatisfying(
            VigilException.class,
            e -> {
              assertThat(e.code()).isEqualTo("invalid_certificate");
              assertThat(e.getCause()).isSameAs(ssl);
            });
    assertThat(sent).hasSize(1);
  }

  @Test
  void aCallGoesWhereItsTokenRequestWasRedirected() {
    List<String> urls = new ArrayList<>();
    Transport t =
        new Transport(
            List.of(A, B),
            (node, call, token) -> {
              urls.add(call.method() + " " + node + call.path());
              return node.equals(A)
                  ? redirect("http://b:8080" + call.path())
                  : reply(200, "{\"access_token\":\"t\"}");
            },
            Duration.ofSeconds(30),
            Backoff.DEFAULT,
            waits::add,
            now::get,
            () -> 0.5);
    t.tokens(
        new Transport.Tokens() {
          private String token;

          @Override
          public String token(Transport transport) {
            if (token == null) {
              transport.send(
                  new Transport.Call("POST", "/idp/connect/token", null, null, true, false));
              token = "t";
            }
            return token;
          }

          @Override
          public boolean invalidate(String refused) {
            return true;
          }
        });

    assertThat(t.send(get()).status()).isEqualTo(200);

    assertThat(urls)
        .containsExactly(
            "POST http://a:8080/idp/connect/token",
            "POST http://b:8080/idp/connect/token",
            "GET http://b:8080/api/v1/servers");
  }
}
