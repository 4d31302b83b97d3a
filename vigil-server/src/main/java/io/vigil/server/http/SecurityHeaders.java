package io.vigil.server.http;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The browser-hardening headers every response carries, set before any handler runs so that a
 * route, an error mapper and Jetty's own error answers ({@link JsonErrorHandler}) all have them. A
 * handler may replace one for its response: the sign-in page sends a stricter {@code
 * Content-Security-Policy}, the key set a cacheable {@code Cache-Control}.
 *
 * <p>{@code Strict-Transport-Security} is added here for connections that are HTTPS to this node;
 * {@link HttpServer} adds it too when a trusted proxy says the client used HTTPS.
 */
final class SecurityHeaders extends Handler.Wrapper {

  /** One year, the value browsers' preload lists ask for. */
  static final String HSTS = "max-age=31536000";

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    apply(response.getHeaders(), request.isSecure());
    return super.handle(request, response, callback);
  }

  /** Puts the headers into {@code headers}, replacing any of the same name. */
  static void apply(HttpFields.Mutable headers, boolean secure) {
    headers.put("X-Content-Type-Options", "nosniff");
    headers.put("Referrer-Policy", "no-referrer");
    headers.put("X-Frame-Options", "DENY");
    headers.put("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    headers.put("Cache-Control", "no-store");
    if (secure) {
      headers.put("Strict-Transport-Security", HSTS);
    }
  }
}
