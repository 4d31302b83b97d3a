package io.vigil.server.http;

import io.javalin.http.HandlerType;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.security.Permission;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A plain-HTTP server on loopback with a few routes, for tests of the HTTP edge: a secured GET and
 * POST under {@code /api} (token {@value #TOKEN}), an open route that fails, and raw-socket
 * helpers.
 */
final class EdgeFixture implements AutoCloseable {

  static final String TOKEN = "good-token";

  final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  final HttpServer server;

  /**
   * @param dataDir an empty directory
   * @param httpSettings the members of the {@code Http} section of appsettings.json, e.g. {@code
   *     "RequestBodyTimeoutSeconds": 2}, or empty
   */
  EdgeFixture(Path dataDir, String httpSettings) throws IOException {
    if (!httpSettings.isBlank()) {
      Files.writeString(
          dataDir.resolve(SettingsLoader.FILE_NAME), "{\"Http\": {" + httpSettings + "}}");
    }
    server =
        HttpServer.start(
            SettingsLoader.load(
                dataDir, new HashMap<>(), new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1")),
            token -> {
              if (!TOKEN.equals(token)) {
                throw ApiException.unauthorized("Unknown token.");
              }
              return new Principal("u1", "admin", "test", Set.of(Role.ADMINISTRATOR), Set.of());
            },
            metrics,
            () -> true,
            List.of(
                api -> {
                  api.get(
                      "/api/v1/things",
                      Permission.SERVERS_READ,
                      ctx -> ctx.json(Map.of("things", List.of())));
                  api.post(
                      "/api/v1/things",
                      Permission.SERVERS_WRITE,
                      ctx -> ctx.json(Map.of("received", ctx.bodyAsBytes().length)));
                  api.open(
                      HandlerType.GET,
                      "/boom",
                      ctx -> {
                        throw new IllegalStateException("a bug");
                      });
                }));
  }

  int port() {
    return server.port();
  }

  Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port());
    s.setSoTimeout(15_000);
    return s;
  }

  /** Sends {@code request} as it is on a new connection and reads until the server closes it. */
  String exchange(String request) throws IOException {
    try (Socket s = connect()) {
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return readResponse(s);
    }
  }

  /**
   * Reads what the server sends until it closes the connection, or until a whole response with a
   * Content-Length has arrived.
   */
  static String readResponse(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    StringBuilder text = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      int n;
      while ((n = in.read(buffer)) > 0) {
        text.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
        if (complete(text.toString())) {
          break;
        }
      }
    } catch (SocketTimeoutException | java.net.SocketException e) {
      // whatever arrived is the answer
    }
    return text.toString();
  }

  private static boolean complete(String response) {
    int end = response.indexOf("\r\n\r\n");
    if (end < 0) {
      return false;
    }
    for (String line : response.substring(0, end).split("\r\n")) {
      if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
        int length = Integer.parseInt(line.substring(15).trim());
        return response.length() - end - 4 >= length;
      }
    }
    return false;
  }

  static int status(String response) {
    if (!response.startsWith("HTTP/1.1 ")) {
      return -1;
    }
    return Integer.parseInt(response.substring(9, 12));
  }

  static String body(String response) {
    int end = response.indexOf("\r\n\r\n");
    return end < 0 ? "" : response.substring(end + 4);
  }

  /** The value of header {@code name} in a raw response, or null. */
  static String header(String response, String name) {
    int end = response.indexOf("\r\n\r\n");
    String head = end < 0 ? response : response.substring(0, end);
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  static void send(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  @Override
  public void close() {
    server.close();
  }
}
