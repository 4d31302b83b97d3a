package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque cursor of the event query: the id below which the next page starts. Only cursors this
 * API issued are accepted, so a client cannot come to rely on what is inside.
 */
final class EventCursor {

  private static final String PREFIX = "event<";

  private EventCursor() {}

  static String before(long id) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString((PREFIX + id).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The id a cursor names, or null for the first page.
   *
   * @throws ApiException 400 {@code invalid_cursor} for anything {@link #before} cannot have made
   */
  static Long decode(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return null;
    }
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      if (text.startsWith(PREFIX)) {
        long id = Long.parseLong(text.substring(PREFIX.length()));
        if (id > 0 && before(id).equals(cursor)) {
          return id;
        }
      }
    } catch (IllegalArgumentException e) {
      // not a cursor (NumberFormatException included): answered below
    }
    throw ApiException.badRequest(
        "invalid_cursor",
        "cursor="
            + Text.excerpt(cursor)
            + " is not a cursor this API issued; start again without it.");
  }
}
