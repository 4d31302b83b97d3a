package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * What an event is about: a registered server, hardware device or camera (its id), or a named
 * external source ({@code external:<name>}) such as an access control system that has no
 * registration of its own, or a node of the cluster ({@code node:<name>}), the source of some of
 * Vigil's own events ({@code cluster.failover}, …). Only Vigil raises events about a node: a posted
 * event may not name one ({@link #posted}), but queries and alarm definitions may.
 *
 * @param objectId the registered object's id, or null for an external source
 * @param text the source as stored and shown: the id in lower case, or {@code external:<name>}
 */
public record EventSource(UUID objectId, String text) {

  static final String EXTERNAL = "external:";
  static final String NODE = "node:";
  private static final Pattern EXTERNAL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  /**
   * @throws ApiException 400 {@code invalid_source} for anything but an id or {@code
   *     external:<name>} (letters, digits, {@code . _ -}, at most 100, starting with a letter or
   *     digit)
   */
  static EventSource parse(String field, String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"" + field + "\" is required.");
    }
    if (value.startsWith(EXTERNAL)) {
      if (EXTERNAL_NAME.matcher(value.substring(EXTERNAL.length())).matches()) {
        return new EventSource(null, value);
      }
    } else if (value.startsWith(NODE)) {
      if (EXTERNAL_NAME.matcher(value.substring(NODE.length())).matches()) {
        return new EventSource(null, value);
      }
    } else {
      try {
        UUID id = UUID.fromString(value);
        if (id.toString().equalsIgnoreCase(value)) {
          return new EventSource(id, id.toString());
        }
      } catch (IllegalArgumentException e) {
        // answered below
      }
    }
    throw ApiException.badRequest(
        "invalid_source",
        "Field \""
            + field
            + "\" is \""
            + Text.excerpt(value)
            + "\", which is no source: use the id of a registered server, hardware device or"
            + " camera, or external:<name> (letters, digits, '.', '_' and '-', at most 100) for"
            + " a source outside Vigil, or node:<name> for a node of the cluster.");
  }

  /**
   * The source of a posted event: as {@link #parse}, but not a node, whose events only Vigil
   * raises.
   *
   * @throws ApiException 400 {@code reserved_source} for {@code node:<name>}
   */
  static EventSource posted(String field, String value) {
    EventSource source = parse(field, value);
    if (source.text().startsWith(NODE)) {
      throw ApiException.badRequest(
          "reserved_source",
          "Field \""
              + field
              + "\" names a node of the cluster; only Vigil raises events about its nodes. Post"
              + " about a registered object or an external:<name> source.");
    }
    return source;
  }
}
