package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vigil.server.http.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events stream read on its own thread: its messages, and its end, are queued as they
 * come, and {@link #next} waits for one up to {@link #WAIT}.
 */
public final class TestSse implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(20);
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** One SSE message. */
  public record Message(String name, String id, JsonNode data) {}

  private static final Message END = new Message("", "", null);
  private final InputStream body;
  private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();

  private TestSse(InputStream body) {
    this.body = body;
    Thread.ofVirtual().start(this::read);
  }

  /**
   * Opens a stream with a bearer token and, unless null, a {@code Last-Event-ID}; asserts that it
   * is answered 200 with {@code text/event-stream}.
   */
  public static TestSse open(String url, String token, String lastId)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", "Bearer " + token)
            .header("Accept", "text/event-stream");
    if (lastId != null) {
      b.header("Last-Event-ID", lastId);
    }
    HttpResponse<InputStream> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() != 200) {
      String text = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
      throw new AssertionError("GET " + url + " answered " + r.statusCode() + ": " + text);
    }
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
    return new TestSse(r.body());
  }

  private void read() {
    try (var reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String name = null;
      String id = null;
      StringBuilder data = new StringBuilder();
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (line.isEmpty()) {
          if (data.length() > 0) {
            messages.add(new Message(name, id, Json.MAPPER.readTree(data.toString())));
          }
          name = null;
          id = null;
          data.setLength(0);
        } else if (line.startsWith("event:")) {
          name = line.substring(6).trim();
        } else if (line.startsWith("id:")) {
          id = line.substring(3).trim();
        } else if (line.startsWith("data:")) {
          data.append(line.substring(5).trim());
        }
      }
    } catch (IOException e) {
      // closed by the test or the server, or the node died: the end is queued below
    }
    messages.add(END);
  }

  /** The next message; fails when none comes within {@link #WAIT} or the stream ends first. */
  public Message next() throws InterruptedException {
    Message m = nextOrEnd();
    assertThat(m).as("a message before the stream ended").isNotNull();
    return m;
  }

  /** The next message, or null when the stream ended first; fails when neither comes in time. */
  public Message nextOrEnd() throws InterruptedException {
    Message m = messages.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(m).as("a message or the end within %s", WAIT).isNotNull();
    return m == END ? null : m;
  }

  /** Whether the stream ended (within the wait) with no message before its end. */
  public boolean ended() throws InterruptedException {
    return messages.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS) == END;
  }

  @Override
  public void close() {
    try {
      body.close();
    } catch (IOException e) {
      // already closed
    }
  }
}
