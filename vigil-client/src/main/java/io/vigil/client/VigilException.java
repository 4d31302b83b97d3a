package io.vigil.client;

/**
 * A call the management server refused, or that could not be made. {@link #code()} is the server's
 * stable error code (such as {@code not_your_server}) or one of the SDK's own: {@code unreachable}
 * (no listed node answered within the call's failover time), {@code no_active_node} (nodes answered
 * but none served the API within it), {@code invalid_response} (an answer that is not Vigil's
 * JSON), {@code authentication_failed} (the token endpoint refused the credentials).
 */
public final class VigilException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;

  /**
   * @param status the HTTP status, or 0 when there was no answer
   */
  public VigilException(int status, String code, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
  }

  public VigilException(int status, String code, String message) {
    this(status, code, message, null);
  }

  /** The HTTP status of the answer, or 0 when no node answered. */
  public int status() {
    return status;
  }

  /** The stable error code. */
  public String code() {
    return code;
  }
}
