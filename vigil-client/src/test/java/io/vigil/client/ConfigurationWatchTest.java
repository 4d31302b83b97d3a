package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The configuration watch's loop against scripted answers, without a network or a sleep. */
class ConfigurationWatchTest {

  private static final URI A = URI.create("http://a:8080");
  private static final URI B = URI.create("http://b:8080");
  private static final UUID ID = UUID.fromString("00000000-0000-0000-0000-0000000000aa");

  private final AtomicLong now = new AtomicLong();
  private final List<String> sent = new ArrayList<>();
  private final Deque<Object> script = new ArrayDeque<>();
  private final List<ServerConfiguration> seen = new ArrayList<>();
  private final List<VigilException> errors = new ArrayList<>();

  private ConfigurationWatch watch() {
    Transport t =
        new Transport(
            List.of(A, B),
            (node, call, token) -> {
              sent.add(
                  node
                      + call.path()
                      + " "
                      + call.headers().getOrDefault("If-None-Match", "-")
                      + " "
                      + call.timeout());
              Object next = script.poll();
              if (next == null) {
                throw new AssertionError("no scripted answer for " + call.path());
              }
              if (next instanceof IOException e) {
                throw e;
              }
              return (Transport.Reply) next;
            },
            Duration.ofSeconds(5),
            Backoff.DEFAULT,
            d -> now.addAndGet(d.toNanos()),
            now::get,
            () -> 0.5);
    t.tokens(
        new Transport.Tokens() {
          @Override
          public String token(Transport transport) {
            return "t";
          }

          @Override
          public boolean invalidate(String token) {
            return true;
          }
        });
    return new ConfigurationWatch(
        t, ID, Duration.ofSeconds(25), Duration.ofSeconds(10), seen::add, errors::add);
  }

  private static Transport.Reply config(String etag, String name) {
    return new Transport.Reply(
        200,
        "{\"server\":{\"id\":\""
            + ID
            + "\",\"name\":\""
            + name
            + "\",\"type\":\"recording-server\",\"address\":\"http://x\",\"enabled\":true,"
            + "\"revision\":1,\"heartbeatIntervalSeconds\":5},\"hardware\":[],\"cameras\":[]}",
        etag,
        null,
        null);
  }

  private static Transport.Reply status(int status, String code) {
    return new Transport.Reply(
        status,
        code == null ? "" : "{\"code\":\"" + code + "\",\"message\":\"m\"}",
        null,
        null,
        null);
  }

  @Test
  void theListenerGetsTheCurrentConfigurationThenEachChangeOnce() {
    script.add(config("\"c-1\"", "rs1"));
    script.add(status(304, null));
    script.add(status(304, null));
    script.add(config("\"c-2\"", "rs1-renamed"));
    script.add(status(404, "not_found"));
    ConfigurationWatch w = watch();
    w.run();

    assertThat(seen).extracting(c -> c.server().name()).containsExactly("rs1", "rs1-renamed");
    assertThat(seen).extracting(ServerConfiguration::etag).containsExactly("\"c-1\"", "\"c-2\"");
    assertThat(sent)
        .containsExactly(
            "http://a:8080/api/v1/servers/" + ID + "/configuration - PT35S",
            "http://a:8080/api/v1/servers/" + ID + "/configuration?wait=25 \"c-1\" PT35S",
            "http://a:8080/api/v1/servers/" + ID + "/configuration?wait=25 \"c-1\" PT35S",
            "http://a:8080/api/v1/servers/" + ID + "/configuration?wait=25 \"c-1\" PT35S",
            "http://a:8080/api/v1/servers/" + ID + "/configuration?wait=25 \"c-2\" PT35S");
    assertThat(errors).singleElement().extracting(VigilException::status).isEqualTo(404);
    assertThat(w.etag()).isEqualTo("\"c-2\"");
  }

  @Test
  void throughAFailoverItPollsTheNewOwnerWithTheEtagItHasAndDeliversNothingTwice() {
    script.add(config("\"c-1\"", "rs1"));
    // A dies during the poll; B is a standby at first, then the new owner, still at c-1.
    script.add(new IOException("connection reset"));
    script.add(status(503, "no_active_node"));
    script.add(new ConnectException("refused"));
    script.add(status(304, null));
    script.add(config("\"c-2\"", "changed during the failover"));
    script.add(status(403, "forbidden"));
    watch().run();

    assertThat(seen)
        .extracting(c -> c.server().name())
        .containsExactly("rs1", "changed during the failover");
    assertThat(sent.subList(1, sent.size()))
        .allMatch(s -> s.contains("\"c-1\"") || s.contains("\"c-2\""));
    // A (first answer), A (reset), B (standby without owner), A (down), then B, the new owner.
    assertThat(sent)
        .extracting(s -> s.substring(0, "http://a:8080".length()))
        .containsExactly(
            "http://a:8080",
            "http://a:8080",
            "http://b:8080",
            "http://a:8080",
            "http://b:8080",
            "http://b:8080",
            "http://b:8080");
    assertThat(errors).singleElement().extracting(VigilException::code).isEqualTo("forbidden");
  }

  @Test
  void whenTheFailoverTimeRunsOutItBacksOffAndKeepsWatching() {
    script.add(config("\"c-1\"", "rs1"));
    for (int i = 0; i < 40; i++) {
      script.add(new ConnectException("refused"));
    }
    script.add(config("\"c-2\"", "back"));
    // A 401 gets a fresh token once; a second one ends the watch.
    script.add(status(401, "unauthorized"));
    script.add(status(401, "unauthorized"));
    long before = now.get();
    watch().run();

    assertThat(seen).extracting(c -> c.server().name()).containsExactly("rs1", "back");
    assertThat(Duration.ofNanos(now.get() - before)).isGreaterThan(Duration.ofSeconds(5));
    assertThat(errors).singleElement().extracting(VigilException::status).isEqualTo(401);
  }

  @Test
  void onlyRefusalsRetryingCannotChangeArePermanent() {
    assertThat(ConfigurationWatch.permanent(new VigilException(404, "not_found", "m"))).isTrue();
    assertThat(ConfigurationWatch.permanent(new VigilException(403, "forbidden", "m"))).isTrue();
    assertThat(ConfigurationWatch.permanent(new VigilException(429, "slow", "m"))).isFalse();
    assertThat(ConfigurationWatch.permanent(new VigilException(0, "unreachable", "m"))).isFalse();
    assertThat(ConfigurationWatch.permanent(new VigilException(503, "x", "m"))).isFalse();
  }
}
