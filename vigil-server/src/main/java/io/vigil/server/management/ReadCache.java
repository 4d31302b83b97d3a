package io.vigil.server.management;

import io.vigil.server.cluster.Fence;
import io.vigil.server.http.PreparedJson;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Answers of hot reads, written as JSON once per change and sent as they are until the data may
 * have changed: {@code GET /api/v1/servers} without a cursor, which every console and script asks
 * for again and again, costs a database query, a row mapping per server and the JSON of the whole
 * page otherwise.
 *
 * <p>An answer is kept with the fence's {@link Fence#changes} count taken before its read began,
 * and only if the count had not moved when the read ended; it is sent again while the count stays
 * the same. The count moves after every write through the fence ends (a registration, an update, a
 * heartbeat batch, the collector marking a server offline, anything else) and when the node takes
 * or loses the role, so a kept answer never outlives a change this node made or could have missed,
 * and a write's caller, answered after its write ended, sees its change in its next read. Reads
 * that raced a write are not kept. It keeps at most {@value #MAX_ENTRIES} answers, all forgotten
 * when that many are held.
 */
public final class ReadCache {

  static final int MAX_ENTRIES = 64;

  private record Entry(long changes, PreparedJson json) {}

  private final Fence fence;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  public ReadCache(Fence fence) {
    this.fence = fence;
  }

  /**
   * The answer kept under {@code key} if nothing may have changed since it was read, else {@code
   * read}'s value written as JSON, kept if nothing changed while it was read. {@code key} must name
   * everything the read depends on; a read that throws keeps nothing.
   */
  public PreparedJson get(String key, Supplier<?> read) {
    long before = fence.changes();
    Entry kept = entries.get(key);
    if (before >= 0 && kept != null && kept.changes() == before) {
      return kept.json();
    }
    PreparedJson json = PreparedJson.of(read.get());
    if (before >= 0 && fence.changes() == before) {
      if (entries.size() >= MAX_ENTRIES) {
        entries.clear();
      }
      entries.put(key, new Entry(before, json));
    }
    return json;
  }
}
