package io.vigil.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A subscription to the live stream ({@code GET /api/v1/events/stream}) that resumes by itself.
 * Messages go to the listener one at a time, in the stream's order, on the subscription's own
 * thread. After each message the subscription remembers its id; when the stream ends (the node
 * stopped its event server, failed over, or the connection broke) it connects again — to the active
 * node, through a standby's redirect, or to the next listed node — with {@code Last-Event-ID} set
 * to that id, so the listener gets every message once: nothing missed, nothing twice. It retries
 * with the client's backoff until {@link #close} is called, and stops for good only on an answer
 * that retrying cannot change (403, 400, 404), which goes to the error handler.
 */
public final class EventSubscription implements AutoCloseable {

  /** What to subscribe to; null or empty lists mean everything the client may read. */
  public record Filter(List<String> kinds, List<String> types, String source) {
    public static Filter all() {
      return new Filter(null, null, null);
    }

    String query() {
      StringBuilder q = new StringBuilder();
      add(q, "kinds", kinds);
      add(q, "type", types);
      if (source != null) {
        q.append(q.isEmpty() ? "?" : "&").append("source=").append(enc(source));
      }
      return q.toString();
    }

    private static void add(StringBuilder q, String name, List<String> values) {
      if (values != null && !values.isEmpty()) {
        q.append(q.isEmpty() ? "?" : "&")
            .append(name)
            .append('=')
            .append(values.stream().map(Filter::enc).collect(Collectors.joining(",")));
      }
    }

    private static String enc(String s) {
      return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
  }

  private final Transport transport;
  private final HttpClient http;
  private final String path;
  private final Consumer<StreamMessage> listener;
  private final Consumer<VigilException> onError;
  private final Thread thread;
  private volatile String lastEventId;
  private volatile boolean closed;
  private volatile Stream<String> body;
  private final java.util.concurrent.atomic.AtomicInteger connections =
      new java.util.concurrent.atomic.AtomicInteger();

  EventSubscription(
      Transport transport,
      HttpClient http,
      Filter filter,
      String lastEventId,
      Consumer<StreamMessage> listener,
      Consumer<VigilException> onError) {
    this.transport = transport;
    this.http = http;
    this.path = "/api/v1/events/stream" + filter.query();
    this.lastEventId = lastEventId;
    this.listener = listener;
    this.onError = onError;
    this.thread = Thread.ofVirtual().name("vigil-event-stream").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** The id of the last message given to the listener (or the one subscribed from); may be null. */
  public String lastEventId() {
    return lastEventId;
  }

  /** How many times a stream was opened (1 plus the reconnections). */
  public int connections() {
    return connections.get();
  }

  private void run() {
    URI target = transport.active();
    int attempt = 0;
    boolean refreshed = false;
    while (!closed) {
      String token = null;
      try {
        token = transport.token();
        HttpRequest.Builder b =
            HttpRequest.newBuilder(Transport.url(target, path))
                .timeout(Duration.ofSeconds(10))
                .header("Accept", "text/event-stream")
                .header("Authorization", "Bearer " + token)
                .GET();
        if (lastEventId != null) {
          b.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<Stream<String>> r = http.send(b.build(), HttpResponse.BodyHandlers.ofLines());
        int status = r.statusCode();
        if (status == 200) {
          connections.incrementAndGet();
          transport.served(target);
          attempt = 0;
          refreshed = false;
          read(r.body());
          // The stream ended: the node closed it, or the connection broke. Reconnect at once to the
          // same node; if it is gone the next attempt moves on.
          attempt = 1;
          transport.backoff(attempt, null);
          continue;
        }
        String text;
        try (Stream<String> lines = r.body()) {
          text = lines.collect(Collectors.joining("\n"));
        }
        if ((status == 307 || status == 308) && r.headers().firstValue("Location").isPresent()) {
          target = Transport.redirected(target, r.headers().firstValue("Location").get(), path);
          continue;
        }
        if (status == 401 && !refreshed) {
          refreshed = true;
          transport.invalidate(token);
          continue;
        }
        if (status == 400 || status == 403 || status == 404 || status == 406) {
          stop(
              new VigilException(
                  status,
                  String.valueOf(ApiJson.errorCode(text)),
                  ApiJson.errorMessage(text, "The live stream answered HTTP " + status)));
          return;
        }
        if ("no_active_node".equals(ApiJson.errorCode(text))) {
          target = transport.next(target);
        }
        transport.backoff(++attempt, r.headers().firstValue("Retry-After").orElse(null));
      } catch (ConnectException | HttpConnectTimeoutException e) {
        target = transport.next(target);
        sleep(++attempt);
      } catch (IOException | UncheckedIOException e) {
        sleep(++attempt);
      } catch (VigilException e) {
        if ("authentication_failed".equals(e.code()) || "invalid_certificate".equals(e.code())) {
          stop(e);
          return;
        }
        sleep(++attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        stop(new VigilException(0, "listener_failed", "The stream's listener failed: " + e, e));
        return;
      }
    }
  }

  private void read(Stream<String> lines) {
    body = lines;
    try (lines) {
      if (closed) {
        return;
      }
      SseParser parser =
          new SseParser(
              m -> {
                listener.accept(new StreamMessage(m.event(), m.id(), ApiJson.tree(m.data())));
                if (m.id() != null) {
                  lastEventId = m.id();
                }
              });
      Iterator<String> it = lines.iterator();
      while (!closed && it.hasNext()) {
        parser.line(it.next());
      }
    } finally {
      body = null;
    }
  }

  private void sleep(int attempt) {
    try {
      transport.backoff(attempt, null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  private void stop(VigilException e) {
    closed = true;
    if (onError != null) {
      onError.accept(e);
    }
  }

  /** Stops the subscription and closes its stream; the listener gets nothing after this returns. */
  @Override
  public void close() {
    closed = true;
    Stream<String> b = body;
    if (b != null) {
      b.close();
    }
    thread.interrupt();
    try {
      thread.join(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
