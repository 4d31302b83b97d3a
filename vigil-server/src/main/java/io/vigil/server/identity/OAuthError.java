package io.vigil.server.identity;

import java.time.Duration;

/**
 * An error of the OAuth endpoints, rendered as RFC 6749 JSON ({@code error}, {@code
 * error_description}) rather than the API's error format, because OAuth clients expect that.
 *
 * @param retryAfter set for 429 answers: how long the caller must wait
 */
record OAuthError(int status, String error, String description, Duration retryAfter) {

  static OAuthError invalidRequest(String description) {
    return new OAuthError(400, "invalid_request", description, null);
  }

  static OAuthError invalidGrant(String description) {
    return new OAuthError(400, "invalid_grant", description, null);
  }

  static OAuthError invalidClient(String description) {
    return new OAuthError(401, "invalid_client", description, null);
  }

  static OAuthError invalidScope(String description) {
    return new OAuthError(400, "invalid_scope", description, null);
  }

  static OAuthError unauthorizedClient(String description) {
    return new OAuthError(400, "unauthorized_client", description, null);
  }

  /** Thrown inside the OAuth handlers; caught and rendered by them. */
  static final class Failure extends RuntimeException {
    final OAuthError error;

    Failure(OAuthError error) {
      super(error.description(), null, false, false);
      this.error = error;
    }
  }

  Failure failure() {
    return new Failure(this);
  }
}
