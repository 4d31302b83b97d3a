package io.vigil.server.management;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * Builds the UPDATE for a partial change: only the columns given are set, and the revision and
 * update time always move. (Building the statement avoids typeless NULL parameters, which
 * PostgreSQL cannot infer.)
 */
final class Updates {

  private record Value(Object value, int sqlType) {}

  private final Map<String, Value> columns = new LinkedHashMap<>();

  /** Sets {@code column} when {@code value} is not null. */
  Updates add(String column, Object value) {
    if (value != null) {
      columns.put(column, new Value(value, java.sql.Types.OTHER));
    }
    return this;
  }

  /** Sets {@code column} even to null (clearing it); {@code sqlType} types the null. */
  Updates addNullable(String column, Object value, int sqlType) {
    columns.put(column, new Value(value, sqlType));
    return this;
  }

  void execute(Handle h, String table, UUID id) {
    StringBuilder sql = new StringBuilder("UPDATE ").append(table).append(" SET ");
    int i = 0;
    for (String column : columns.keySet()) {
      sql.append(column).append(" = :p").append(i++).append(", ");
    }
    sql.append("revision = revision + 1, updated_at = CURRENT_TIMESTAMP WHERE id = :id");
    var update = h.createUpdate(sql.toString()).bind("id", id);
    i = 0;
    for (Value v : columns.values()) {
      String p = "p" + i++;
      if (v.value() == null) {
        update.bindNull(p, v.sqlType());
      } else {
        update.bindByType(p, v.value(), v.value().getClass());
      }
    }
    update.execute();
  }
}
