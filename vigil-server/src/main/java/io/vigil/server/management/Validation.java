package io.vigil.server.management;

import io.vigil.server.http.ApiException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;

/** Field rules shared by the management API's objects. Each failure is a 400 naming the field. */
final class Validation {

  private Validation() {}

  static String name(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    String trimmed = value.strip();
    if (trimmed.isEmpty() || trimmed.length() > 200) {
      throw ApiException.badRequest(
          "invalid_name", "Field \"" + field + "\" must be 1 to 200 characters.");
    }
    if (trimmed.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest(
          "invalid_name", "Field \"" + field + "\" must not contain control characters.");
    }
    return trimmed;
  }

  /** Optional short text: null stays null, blank becomes null. */
  static String optionalText(String field, String value, int max) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.strip();
    if (trimmed.length() > max || trimmed.chars().anyMatch(Character::isISOControl)) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \""
              + field
              + "\" must be at most "
              + max
              + " characters without control characters.");
    }
    return trimmed;
  }

  /**
   * An absolute URL with one of {@code schemes} and a host, e.g. {@code http://rec-01:7563}.
   * Normalised without a trailing slash.
   */
  static String address(String field, String value, Set<String> schemes) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    String trimmed = value.strip();
    try {
      URI uri = new URI(trimmed);
      String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
      if (scheme == null
          || !schemes.contains(scheme)
          || uri.getHost() == null
          || uri.getHost().isEmpty()) {
        throw new URISyntaxException(trimmed, "not an absolute URL");
      }
      if (uri.getUserInfo() != null) {
        throw ApiException.badRequest(
            "invalid_address",
            "Field \""
                + field
                + "\" must not carry credentials in the URL; use the username and password fields.");
      }
      if (trimmed.length() > 2000) {
        throw new URISyntaxException(trimmed, "too long");
      }
      return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
    } catch (URISyntaxException e) {
      throw ApiException.badRequest(
          "invalid_address",
          "Field \""
              + field
              + "\" is not a valid address: \""
              + trimmed
              + "\". Use an absolute URL with a host and one of the schemes "
              + schemes
              + ", e.g. http://rec-01.example.local:7563.");
    }
  }
}
