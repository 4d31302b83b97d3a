package io.vigil.server.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Watches which nodes claim to be active: a background thread asks every node's {@code
 * /cluster/active} at once, every {@link #INTERVAL}, and records each round. A failover test runs
 * one across a failover and then asserts {@code maxSimultaneousActive() <= 1}.
 *
 * <p>What a round means, honestly: the requests of a round are sent together and each has {@link
 * #TIMEOUT}, so two 200s in one round say that both nodes claimed the role within that window, not
 * at one instant. A node that does not answer within the timeout (paused, killed, overloaded)
 * counts as unreachable, not as active; a slow but active node can therefore be missed, never
 * invented. Rounds do not overlap: a round that takes longer than the interval delays the next one.
 *
 * <p>Thread-safe: the accessors may be called while sampling runs; they return copies.
 */
public final class ActiveSampler implements AutoCloseable {

  public static final Duration INTERVAL = Duration.ofMillis(20);
  public static final Duration TIMEOUT = Duration.ofMillis(250);

  /**
   * One sample round.
   *
   * @param at when the round's requests were sent
   * @param active names of the nodes that answered 200
   * @param unreachable names of the nodes that did not answer (refused, timed out)
   */
  public record Round(Instant at, Set<String> active, Set<String> unreachable) {}

  private final Map<String, URI> targets;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(TIMEOUT).executor(executor).build();
  private final List<Round> rounds = new ArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  /**
   * Starts sampling at once.
   *
   * @param nodeUrls node name to base URL (e.g. {@code http://127.0.0.1:8081}), in display order
   */
  public ActiveSampler(Map<String, String> nodeUrls) {
    Map<String, URI> t = new LinkedHashMap<>();
    nodeUrls.forEach((name, url) -> t.put(name, URI.create(url + "/cluster/active")));
    this.targets = t;
    this.thread = Thread.ofPlatform().daemon().name("active-sampler").start(this::loop);
  }

  private void loop() {
    while (running) {
      long start = System.nanoTime();
      Round round = sample();
      synchronized (rounds) {
        rounds.add(round);
      }
      long left = INTERVAL.toNanos() - (System.nanoTime() - start);
      if (left > 0) {
        try {
          Thread.sleep(Duration.ofNanos(left));
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private Round sample() {
    Instant at = Instant.now();
    Map<String, CompletableFuture<Integer>> answers = new LinkedHashMap<>();
    targets.forEach(
        (name, uri) ->
            answers.put(
                name,
                client
                    .sendAsync(
                        HttpRequest.newBuilder(uri).timeout(TIMEOUT).build(),
                        HttpResponse.BodyHandlers.discarding())
                    .thenApply(HttpResponse::statusCode)
                    .exceptionally(e -> -1)));
    Set<String> active = new LinkedHashSet<>();
    Set<String> unreachable = new LinkedHashSet<>();
    answers.forEach(
        (name, answer) -> {
          int status = answer.join();
          if (status == 200) {
            active.add(name);
          } else if (status < 0) {
            unreachable.add(name);
          }
        });
    return new Round(at, Set.copyOf(active), Set.copyOf(unreachable));
  }

  /** Every round so far, oldest first. */
  public List<Round> rounds() {
    synchronized (rounds) {
      return List.copyOf(rounds);
    }
  }

  /** The largest number of nodes that answered 200 in one round; 0 before the first round. */
  public int maxSimultaneousActive() {
    return rounds().stream().mapToInt(r -> r.active().size()).max().orElse(0);
  }

  /** The rounds in which two or more nodes answered 200: each is a split-brain suspect. */
  public List<Round> roundsWithSeveralActive() {
    return rounds().stream().filter(r -> r.active().size() >= 2).toList();
  }

  /** Stops sampling; the rounds stay readable. */
  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    client.shutdownNow();
    executor.shutdownNow();
  }
}
