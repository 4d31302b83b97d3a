package io.vigil.server.http;

/**
 * Rules for text that clients send: what may be echoed back in an error, and what is not text at
 * all. Lengths are counted in Unicode code points, as a person counts characters, not in the UTF-16
 * units of a Java string.
 */
public final class Text {

  /** Most code points of a client's value quoted back in an error message. */
  public static final int EXCERPT_LENGTH = 64;

  private Text() {}

  /**
   * {@code value} to quote in an error: at most {@value #EXCERPT_LENGTH} code points (then "…"),
   * control and invisible characters shown as {@code U+XXXX}, so that an error never echoes a
   * megabyte back or hides what it names.
   */
  public static String excerpt(String value) {
    if (value == null) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    int shown = 0;
    for (int i = 0; i < value.length(); ) {
      if (shown == EXCERPT_LENGTH) {
        return out.append('…').toString();
      }
      int cp = value.codePointAt(i);
      if (Character.isISOControl(cp)
          || Character.getType(cp) == Character.FORMAT
          || Character.getType(cp) == Character.SURROGATE) {
        out.append(String.format(java.util.Locale.ROOT, "U+%04X", cp));
      } else {
        out.appendCodePoint(cp);
      }
      i += Character.charCount(cp);
      shown++;
    }
    return out.toString();
  }

  /** The number of characters (code points) in {@code value}. */
  public static int length(String value) {
    return value.codePointCount(0, value.length());
  }

  /**
   * Why {@code value} is not text that can be stored, or null when it can: a NUL (PostgreSQL cannot
   * store it), or half of a UTF-16 surrogate pair (no character at all; stored as "?").
   */
  public static String notText(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == 0) {
        return "contains a NUL character (U+0000) at position " + (value.codePointCount(0, i) + 1);
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < value.length()
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return "contains half of a surrogate pair (U+"
            + String.format(java.util.Locale.ROOT, "%04X", (int) c)
            + ") at position "
            + (value.codePointCount(0, i) + 1)
            + ", which is no character";
      }
    }
    return null;
  }

  /**
   * Why {@code value} is not fit for a name people read, or null when it is: control characters,
   * and invisible formatting characters such as zero-width spaces and bidirectional overrides,
   * which make two names look alike or text display in another order than it is stored.
   */
  public static String notPrintable(String value) {
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      if (Character.isISOControl(cp)) {
        return "contains the control character U+" + hex(cp);
      }
      if (Character.getType(cp) == Character.FORMAT) {
        return "contains the invisible formatting character U+"
            + hex(cp)
            + " (e.g. a zero-width space or a bidirectional override)";
      }
      i += Character.charCount(cp);
    }
    return null;
  }

  private static String hex(int cp) {
    return String.format(java.util.Locale.ROOT, "%04X", cp);
  }
}
