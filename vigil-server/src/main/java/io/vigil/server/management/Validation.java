package io.vigil.server.management;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;

/**
 * Field rules shared by the management API's objects. Each failure is a 400 naming the field;
 * lengths are counted in characters (code points), and names people read may hold no control or
 * invisible formatting characters.
 */
final class Validation {

  private Validation() {}

  static String name(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    String trimmed = value.strip();
    if (trimmed.isEmpty() || Text.length(trimmed) > 200) {
      throw ApiException.badRequest(
          "invalid_name", "Field \"" + field + "\" must be 1 to 200 characters.");
    }
    String problem = Text.notPrintable(trimmed);
    if (problem != null) {
      throw ApiException.badRequest(
          "invalid_name", "Field \"" + field + "\" " + problem + "; names must be plain text.");
    }
    return trimmed;
  }

  /** Optional short text: null stays null, blank becomes null. */
  static String optionalText(String field, String value, int max) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.strip();
    if (Text.length(trimmed) > max || Text.notPrintable(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \""
              + field
              + "\" must be at most "
              + max
              + " characters without control or invisible formatting characters.");
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
      if (uri.getPort() == 0 || uri.getPort() > 65535 || uri.getPort() < -1) {
        throw ApiException.badRequest(
            "invalid_address",
            "Field \""
                + field
                + "\" has port "
                + uri.getPort()
                + ", which no server listens on: use a port from 1 to 65535, or none for the"
                + " scheme's default.");
      }
      if (uri.getUserInfo() != null) {
        throw ApiException.badRequest(
            "invalid_address",
            "Field \""
                + field
                + "\" must not carry credentials in the URL; use the username and password fields.");
      }
      if (Text.length(trimmed) > 2000) {
        throw new URISyntaxException(trimmed, "too long");
      }
      return trimmed.endsWith("/") ? trimmed.substring(0, trimmed.length() - 1) : trimmed;
    } catch (URISyntaxException e) {
      throw ApiException.badRequest(
          "invalid_address",
          "Field \""
              + field
              + "\" is not a valid address: \""
              + Text.excerpt(trimmed)
              + "\". Use an absolute URL with a host and one of the schemes "
              + schemes
              + ", e.g. http://rec-01.example.local:7563.");
    }
  }
}
