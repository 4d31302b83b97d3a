package io.vigil.server.testing.lab;

import io.vigil.server.testing.TestHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * HTTP from a lab host, with {@code curl} running in that host's namespace, so requests take the
 * lab's network and names ({@code http://node-a:8080}) exactly as another machine's would. Answers
 * are {@link TestHttp.Response}s, like those of the loopback tests.
 *
 * <p>Headers and bodies go to curl in owner-only files, never on its command line, so tokens and
 * passwords do not show in {@code ps}.
 */
public final class LabHttp {

  private final Host from;
  private final Duration timeout;
  private final Path caCert;

  /** Requests from {@code from} that give up after 5 s. */
  public LabHttp(Host from) {
    this(from, Duration.ofSeconds(5));
  }

  public LabHttp(Host from, Duration timeout) {
    this(from, timeout, null);
  }

  /**
   * Requests that verify {@code https} servers against the PEM certificates in {@code caCert} (as
   * curl's {@code --cacert}); null for the system's trust only.
   */
  public LabHttp(Host from, Duration timeout, Path caCert) {
    this.from = from;
    this.timeout = timeout;
    this.caCert = caCert;
  }

  public Host from() {
    return from;
  }

  /** GET {@code url}, with a bearer token when it is not null. */
  public TestHttp.Response get(String url, String token) {
    return send("GET", url, token, null, null);
  }

  /** POST of an {@code application/x-www-form-urlencoded} body. */
  public TestHttp.Response form(String url, String body) {
    return send("POST", url, null, "application/x-www-form-urlencoded", body);
  }

  /** A request with an optional JSON body. */
  public TestHttp.Response json(String method, String url, String token, String jsonBody) {
    return send(method, url, token, jsonBody == null ? null : "application/json", jsonBody);
  }

  /**
   * The status of a GET, or -1 when the host cannot reach {@code url} (refused, timed out, name
   * unknown): for polling.
   */
  public int status(String url) {
    try {
      return get(url, null).status();
    } catch (UncheckedIOException e) {
      return -1;
    }
  }

  /**
   * Sends one request.
   *
   * @throws UncheckedIOException when no HTTP answer came (the message holds curl's error)
   */
  public TestHttp.Response send(
      String method, String url, String token, String contentType, String body) {
    Path dir = from.home().resolve(".lab-http");
    String name = UUID.randomUUID().toString();
    Path headers = dir.resolve(name + ".headers");
    Path data = dir.resolve(name + ".body");
    try {
      Files.createDirectories(dir);
      List<String> lines = new ArrayList<>();
      if (token != null) {
        lines.add("Authorization: Bearer " + token);
      }
      if (contentType != null) {
        lines.add("Content-Type: " + contentType);
      }
      writePrivate(headers, String.join("\n", lines) + "\n");
      List<String> command =
          new ArrayList<>(
              List.of(
                  "curl",
                  "-sS",
                  "--proto",
                  "=http,https",
                  "--max-time",
                  Double.toString(timeout.toMillis() / 1000.0),
                  "--connect-timeout",
                  Double.toString(Math.min(timeout.toMillis(), 2000) / 1000.0),
                  "-X",
                  method,
                  "-H",
                  "@" + headers,
                  "-D",
                  "-",
                  "-o",
                  "-"));
      if (caCert != null) {
        command.addAll(List.of("--cacert", caCert.toString()));
      }
      if (body != null) {
        writePrivate(data, body);
        command.addAll(List.of("--data-binary", "@" + data));
      }
      command.add(url);
      ExecResult r = from.run(timeout.plusSeconds(5), command);
      if (!r.ok()) {
        throw new UncheckedIOException(
            new IOException(
                method + " " + url + " from " + from.name() + ": " + r.stderr().strip()));
      }
      return parse(r.stdout());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      try {
        Files.deleteIfExists(headers);
        Files.deleteIfExists(data);
      } catch (IOException e) {
        // in the host's home, deleted with the lab
      }
    }
  }

  /**
   * Splits curl's {@code -D - -o -} output: header blocks (an interim {@code 1xx} block may come
   * first), then the body.
   */
  static TestHttp.Response parse(String out) {
    String rest = out;
    int status = -1;
    Map<String, String> headers = new LinkedHashMap<>();
    while (rest.startsWith("HTTP/")) {
      int end = rest.indexOf("\r\n\r\n");
      String block = end < 0 ? rest : rest.substring(0, end);
      rest = end < 0 ? "" : rest.substring(end + 4);
      String[] lines = block.split("\r\n");
      status = Integer.parseInt(lines[0].split(" ")[1]);
      headers.clear();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.merge(
              lines[i].substring(0, colon).strip().toLowerCase(),
              lines[i].substring(colon + 1).strip(),
              (a, b) -> a + "," + b);
        }
      }
      if (status >= 200) {
        break;
      }
    }
    if (status < 0) {
      throw new IllegalArgumentException("not an HTTP response: " + out);
    }
    return new TestHttp.Response(status, headers, rest);
  }

  private static void writePrivate(Path file, String text) throws IOException {
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, text);
  }
}
