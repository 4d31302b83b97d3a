package io.vigil.server.http;

/**
 * An error the API reports to its caller: an HTTP status, a stable machine-readable {@code code}
 * and a message that names the object, the cause and the fix. Rendered as {@code {"code": …,
 * "message": …}}.
 */
public class ApiException extends RuntimeException {

  private final int status;
  private final String code;

  public ApiException(int status, String code, String message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public static ApiException badRequest(String code, String message) {
    return new ApiException(400, code, message);
  }

  public static ApiException notFound(String what, String id) {
    return new ApiException(
        404, "not_found", what + " \"" + Text.excerpt(id) + "\" does not exist.");
  }

  public static ApiException conflict(String code, String message) {
    return new ApiException(409, code, message);
  }

  public static ApiException unauthorized(String message) {
    return new ApiException(401, "unauthorized", message);
  }

  public static ApiException forbidden(String message) {
    return new ApiException(403, "forbidden", message);
  }
}
