package io.vigil.server.identity.external;

/**
 * Why an external sign-in stopped: an HTTP status, a stable code and a message for the person at
 * the browser (or the operator reading it). Nothing was changed when one is thrown, except that the
 * sign-in's state is used up.
 */
public final class SignInFailure extends RuntimeException {

  private final int status;
  private final String code;

  public SignInFailure(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }
}
