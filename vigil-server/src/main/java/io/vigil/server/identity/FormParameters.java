package io.vigil.server.identity;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The rules an OAuth endpoint's form body must meet before any of it is acted on (RFC 6749 3.1,
 * 3.2): every parameter at most once, well-formed percent escapes, no control characters (a NUL
 * turns {@code password} into {@code password%00}, which a lenient parser may read either way), and
 * bounded lengths, so that nothing the client sends is stored, logged or echoed at any size.
 */
public final class FormParameters {

  /** Longest value of any parameter, in characters. */
  static final int MAX_VALUE = 4096;

  /** Longest {@code scope}: Vigil's scopes together are far shorter. */
  static final int MAX_SCOPE = 1024;

  /** A form body that breaks the rules; the message says which rule, for the client. */
  public static final class Invalid extends Exception {
    Invalid(String message) {
      super(message);
    }
  }

  private FormParameters() {}

  /**
   * The parameters of {@code body}, in order.
   *
   * @throws Invalid naming the parameter and the rule it breaks
   */
  public static Map<String, String> parse(String body) throws Invalid {
    Map<String, String> params = new LinkedHashMap<>();
    if (body == null || body.isEmpty()) {
      return params;
    }
    for (String pair : body.split("&", -1)) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      String shownName = shown(name);
      if (params.containsKey(name)) {
        throw new Invalid(
            "Parameter \"" + shownName + "\" appears more than once; send each parameter once.");
      }
      if (hasControl(name) || hasControl(value)) {
        throw new Invalid(
            "Parameter \"" + shownName + "\" contains a control character such as NUL.");
      }
      int max = name.equals("scope") ? MAX_SCOPE : MAX_VALUE;
      if (value.codePointCount(0, value.length()) > max) {
        throw new Invalid("Parameter \"" + shownName + "\" is longer than " + max + " characters.");
      }
      params.put(name, value);
    }
    return Collections.unmodifiableMap(params);
  }

  private static String decode(String raw) throws Invalid {
    try {
      return URLDecoder.decode(raw, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new Invalid(
          "The form body has a malformed %-escape; encode it as"
              + " application/x-www-form-urlencoded.");
    }
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(Character::isISOControl);
  }

  private static String shown(String name) {
    String visible = name.codePoints().anyMatch(Character::isISOControl) ? "(unprintable)" : name;
    return visible.length() > 40 ? visible.substring(0, 40) + "…" : visible;
  }
}
