package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How serious an event is, lowest first. */
public enum Severity {
  INFO,
  WARNING,
  ERROR,
  CRITICAL;

  /** The severity's name in the API and the database: lower case. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  static String allIds() {
    return Arrays.stream(values()).map(Severity::id).collect(Collectors.joining(", "));
  }

  /**
   * @throws ApiException 400 {@code invalid_severity} for anything but one of the ids
   */
  static Severity parse(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    return Arrays.stream(values())
        .filter(s -> s.id().equals(value))
        .findFirst()
        .orElseThrow(
            () ->
                ApiException.badRequest(
                    "invalid_severity",
                    "Field \""
                        + field
                        + "\" is \""
                        + Text.excerpt(value)
                        + "\", which is no severity. Use one of: "
                        + allIds()
                        + "."));
  }
}
