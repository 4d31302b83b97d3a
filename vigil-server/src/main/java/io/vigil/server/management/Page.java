package io.vigil.server.management;

import io.vigil.server.http.ApiException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** One page of a list, in name order, and the opaque cursor for the next page (null at the end). */
public record Page<T>(List<T> items, String nextCursor) {

  /** Encodes the sort key of the last item of a page as a cursor. */
  static String cursorAfter(String nameKey) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(nameKey.getBytes(StandardCharsets.UTF_8));
  }

  /** Decodes a cursor from a previous page, or null for the first page. */
  static String decodeCursor(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return null;
    }
    try {
      return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(
          "invalid_cursor",
          "cursor=" + cursor + " is not a cursor this API issued; start again without it.");
    }
  }
}
