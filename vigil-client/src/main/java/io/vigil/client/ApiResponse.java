package io.vigil.client;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The answer to a {@link VigilClient#send}: its HTTP status, its {@code ETag} (null when none) and
 * its body as text (empty when none). Any status the failover rules do not retry is returned, 4xx
 * and 5xx included, for the caller to read; {@link #error} turns one into a {@link VigilException}.
 */
public record ApiResponse(int status, String etag, String body) {

  public ApiResponse {
    body = body == null ? "" : body;
  }

  /** Whether the status is 2xx. */
  public boolean ok() {
    return status >= 200 && status < 300;
  }

  /**
   * The body as JSON: a missing node when the body is empty (such as a 204).
   *
   * @throws VigilException {@code invalid_response} when the body is not JSON
   */
  public JsonNode json() {
    if (body.isBlank()) {
      return ApiJson.MAPPER.missingNode();
    }
    try {
      return ApiJson.MAPPER.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new VigilException(
          status, "invalid_response", "The management server's answer is not JSON.", e);
    }
  }

  /**
   * The error this answer reports: the server's {@code code} and {@code message} (or an OAuth
   * endpoint's {@code error} and {@code error_description}), else {@code http_<status>} and {@code
   * what} with the status.
   */
  public VigilException error(String what) {
    String code = ApiJson.errorCode(body);
    return new VigilException(
        status,
        code == null ? "http_" + status : code,
        ApiJson.errorMessage(body, what + " answered HTTP " + status));
  }
}
