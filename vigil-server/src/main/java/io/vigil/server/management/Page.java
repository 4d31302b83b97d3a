package io.vigil.server.management;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

/** One page of a list, in name order, and the opaque cursor for the next page (null at the end). */
public record Page<T>(List<T> items, String nextCursor) {

  /** A row with the name key it is sorted by. */
  record Keyed<T>(String key, T value) {}

  /**
   * Reads one page in name order: {@code select} (ending in its FROM clause), the equality filters
   * given as column/value pairs whose value is not null, then the rows after {@code cursor}.
   *
   * @param keyColumn the lower-cased name column the list is sorted and paged by
   */
  static <T> Page<T> query(
      Handle h,
      String select,
      String keyColumn,
      String cursor,
      int limit,
      RowMapper<Keyed<T>> mapper,
      Object... columnValuePairs) {
    String after = decodeCursor(cursor);
    StringBuilder sql = new StringBuilder(select).append(" WHERE 1 = 1");
    java.util.Map<String, Object> binds = new java.util.LinkedHashMap<>();
    for (int i = 0; i < columnValuePairs.length; i += 2) {
      if (columnValuePairs[i + 1] != null) {
        sql.append(" AND ").append(columnValuePairs[i]).append(" = :f").append(i);
        binds.put("f" + i, columnValuePairs[i + 1]);
      }
    }
    if (after != null) {
      sql.append(" AND ").append(keyColumn).append(" > :after");
      binds.put("after", after);
    }
    sql.append(" ORDER BY ").append(keyColumn).append(" LIMIT :limit");
    var q = h.createQuery(sql.toString()).bind("limit", limit + 1);
    binds.forEach(q::bind);
    List<Keyed<T>> rows = q.map(mapper).list();
    if (rows.size() > limit) {
      List<Keyed<T>> page = rows.subList(0, limit);
      return new Page<>(
          page.stream().map(Keyed::value).toList(), cursorAfter(page.get(limit - 1).key()));
    }
    return new Page<>(rows.stream().map(Keyed::value).toList(), null);
  }

  /** What every cursor's decoded text starts with: anything else was not issued by this API. */
  private static final String PREFIX = "name>";

  /** Encodes the sort key of the last item of a page as a cursor. */
  public static String cursorAfter(String nameKey) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString((PREFIX + nameKey).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Decodes a cursor from a previous page, or null for the first page.
   *
   * @throws ApiException 400 {@code invalid_cursor} for anything {@link #cursorAfter} cannot have
   *     made: not base64url in its canonical form, not UTF-8, or without the prefix
   */
  public static String decodeCursor(String cursor) {
    if (cursor == null || cursor.isEmpty()) {
      return null;
    }
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(cursor);
      String text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
      if (text.startsWith(PREFIX) && cursorAfter(text.substring(PREFIX.length())).equals(cursor)) {
        return text.substring(PREFIX.length());
      }
    } catch (IllegalArgumentException | CharacterCodingException e) {
      // not a cursor: answered below
    }
    throw ApiException.badRequest(
        "invalid_cursor",
        "cursor="
            + Text.excerpt(cursor)
            + " is not a cursor this API issued; start again without it.");
  }
}
