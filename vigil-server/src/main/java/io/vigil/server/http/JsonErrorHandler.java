package io.vigil.server.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error answers (a bad request line, headers or URI too large, a body too large or too
 * slow) in the API's format: {@code {"code", "message"}} with a fixed code and message per status,
 * the {@link SecurityHeaders}, and never Jetty's HTML page, its version or the parser's message
 * (which may quote what the client sent).
 */
final class JsonErrorHandler extends ErrorHandler {

  private final long maxRequestBytes;

  JsonErrorHandler(long maxRequestBytes) {
    this.maxRequestBytes = maxRequestBytes;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    int status = response.getStatus();
    if (request.getAttribute(ERROR_STATUS) instanceof Integer s) {
      status = s;
    }
    HttpFields.Mutable headers = response.getHeaders();
    SecurityHeaders.apply(headers, request.isSecure());
    if (status == HttpStatus.REQUEST_TIMEOUT_408 || status == HttpStatus.PAYLOAD_TOO_LARGE_413) {
      // The rest of the body is not read: the connection cannot carry another request.
      headers.put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
    }
    if (HttpStatus.hasNoBody(status) || "HEAD".equals(request.getMethod())) {
      callback.succeeded();
      return true;
    }
    headers.put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, json(status), callback);
    return true;
  }

  private ByteBuffer json(int status) {
    String body = "{\"code\":\"" + code(status) + "\",\"message\":\"" + message(status) + "\"}";
    return ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8));
  }

  /** The stable error code for a status, shared with the errors {@link HttpServer} maps. */
  static String code(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 408 -> "request_timeout";
      case 409 -> "conflict";
      case 413 -> "payload_too_large";
      case 414 -> "uri_too_long";
      case 415 -> "unsupported_media_type";
      case 431 -> "headers_too_large";
      case 503 -> "unavailable";
      case 505 -> "http_version_not_supported";
      default -> status >= 500 ? "internal_error" : "error";
    };
  }

  private String message(int status) {
    return switch (status) {
      case 400 -> "The request is not valid HTTP: check the request line, headers and encoding.";
      case 404 -> "No resource at this path.";
      case 405 -> "This method is not allowed on this path.";
      case 408 ->
          "The request body did not arrive in time (Http.RequestBodyTimeoutSeconds); the"
              + " connection is closed. Send the whole body at once.";
      case 413 ->
          "The request body is larger than the limit of "
              + maxRequestBytes
              + " bytes (Http.MaxRequestBytes).";
      case 414 -> "The request URI is too long (Http.MaxRequestHeaderBytes).";
      case 431 -> "The request headers are too large (Http.MaxRequestHeaderBytes).";
      case 503 -> "The server is not available now; retry in a moment.";
      case 505 -> "This HTTP version is not supported; use HTTP/1.1.";
      default ->
          status >= 500
              ? "The server failed to handle this request; the node's log has the details."
              : "The request was refused (HTTP " + status + ").";
    };
  }
}
