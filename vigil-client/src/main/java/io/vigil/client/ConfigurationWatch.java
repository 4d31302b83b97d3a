package io.vigil.client;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Watches a server's configuration ({@link VigilClient#watchConfiguration}): gives the listener the
 * current configuration first, then each changed one, on the watch's own thread.
 *
 * <p>It long-polls {@code GET /api/v1/servers/{id}/configuration?wait=SECONDS} with {@code
 * If-None-Match} set to the ETag it has: the active node answers 304 when nothing changed within
 * the wait (and the watch asks again at once) or 200 as soon as the server, its hardware or its
 * cameras change. Each poll is a read, so it rides through a failover by the client's rules: a
 * standby's 307, a node that refuses connections, a 503 while no node is active are all retried
 * within the failover time. When that runs out the watch waits the client's backoff and polls
 * again, for as long as it is open: after a failover the first answer from the new owner compares
 * the ETag, so a change made during the failover is delivered once it is over, and one that was
 * already delivered is not delivered again. The watch stops for good only on an answer retrying
 * cannot change (the server was unregistered: 404; the client may not read it: 403; its credentials
 * were revoked: 401), which goes to the error handler.
 */
public final class ConfigurationWatch implements AutoCloseable {

  /** The longest wait the SDK asks for: well below the HTTP idle timeout of a node (30 s). */
  static final Duration DEFAULT_WAIT = Duration.ofSeconds(25);

  private final Transport transport;
  private final String path;
  private final Duration wait;
  private final Duration requestTimeout;
  private final Consumer<ServerConfiguration> listener;
  private final Consumer<VigilException> onError;
  private final Thread thread;
  private volatile boolean closed;
  private volatile String etag;
  private final java.util.concurrent.atomic.AtomicInteger polls =
      new java.util.concurrent.atomic.AtomicInteger();

  ConfigurationWatch(
      Transport transport,
      UUID serverId,
      Duration wait,
      Duration requestTimeout,
      Consumer<ServerConfiguration> listener,
      Consumer<VigilException> onError) {
    this.transport = transport;
    this.path =
        "/api/v1/servers/" + Objects.requireNonNull(serverId, "serverId") + "/configuration";
    this.wait = wait;
    this.requestTimeout = requestTimeout;
    this.listener = Objects.requireNonNull(listener, "listener");
    this.onError = onError;
    this.thread = Thread.ofVirtual().name("vigil-configuration-watch").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** The ETag of the last configuration given to the listener; null before the first. */
  public String etag() {
    return etag;
  }

  /** How many polls were answered (200 or 304). */
  public int polls() {
    return polls.get();
  }

  /** Whether the watch still runs: not closed, and not stopped by an error. */
  public boolean isRunning() {
    return thread.isAlive();
  }

  /** Runs the loop on the calling thread until closed or stopped by an error; for tests. */
  void run() {
    int failures = 0;
    while (!closed) {
      try {
        String seen = etag;
        Transport.Reply reply =
            transport.send(
                new Transport.Call(
                    "GET",
                    path + (seen == null ? "" : "?wait=" + wait.toSeconds()),
                    null,
                    null,
                    true,
                    true,
                    seen == null ? Map.of() : Map.of("If-None-Match", seen),
                    wait.plus(requestTimeout)));
        int status = reply.status();
        if (status == 304) {
          polls.incrementAndGet();
          failures = 0;
          continue;
        }
        if (status == 200) {
          polls.incrementAndGet();
          failures = 0;
          ServerConfiguration c = ApiJson.read(reply.body(), ServerConfiguration.class);
          c = c.withEtag(reply.etag());
          etag = reply.etag();
          listener.accept(c);
          continue;
        }
        throw new VigilException(
            status,
            Objects.requireNonNullElse(ApiJson.errorCode(reply.body()), "http_" + status),
            ApiJson.errorMessage(reply.body(), "GET " + path + " answered HTTP " + status));
      } catch (VigilException e) {
        if (closed || "interrupted".equals(e.code())) {
          return;
        }
        if (permanent(e)) {
          if (onError != null) {
            onError.accept(e);
          }
          return;
        }
        try {
          transport.backoff(++failures, null);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** A refusal retrying cannot change; everything else (no node, a 5xx) is retried. */
  static boolean permanent(VigilException e) {
    int s = e.status();
    return s >= 400 && s < 500 && s != 408 && s != 429;
  }

  /** Stops the watch; a poll in progress is abandoned. */
  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
