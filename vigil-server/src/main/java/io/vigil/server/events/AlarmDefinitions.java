package io.vigil.server.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Sql;
import io.vigil.server.http.ApiException;
import io.vigil.server.http.Json;
import io.vigil.server.http.Text;
import io.vigil.server.security.Principal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Alarm definitions: create, read, change and remove, each change audited in its fenced
 * transaction. Removing a definition leaves its alarms as they are.
 */
public final class AlarmDefinitions {

  static final String OBJECT_TYPE = "alarm_definition";
  static final int MAX_PRIORITY = 10;
  static final int MAX_EVENT_TYPES = 30;
  static final int MAX_SOURCES = 50;
  static final int MAX_CAMERAS = 100;
  static final int MAX_SECONDS = 30 * 24 * 3600;

  private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};

  private static final String INSERT =
      "INSERT INTO alarm_definitions (id, name, enabled, instructions, event_types_json,"
          + " sources_json, priority, category, initial_owner, related_cameras_json,"
          + " action_required_within_seconds, reactivation_seconds,"
          + " close_on_event_types_json, active_when_json, revision, created_at, updated_at)"
          + " VALUES (:id, :name, :enabled, :instructions, :types, :sources, :priority,"
          + " :category, :owner, :cameras, :within, :reactivation, :closeOn, :activeWhen, 1,"
          + " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)";

  private static final String UPDATE =
      "UPDATE alarm_definitions SET name = :name, enabled = :enabled, instructions ="
          + " :instructions, event_types_json = :types, sources_json = :sources,"
          + " priority = :priority, category = :category, initial_owner = :owner,"
          + " related_cameras_json = :cameras, action_required_within_seconds ="
          + " :within, reactivation_seconds = :reactivation, close_on_event_types_json"
          + " = :closeOn, active_when_json = :activeWhen, revision = revision + 1,"
          + " updated_at = CURRENT_TIMESTAMP WHERE id = :id";

  private final Fence fence;

  public AlarmDefinitions(Fence fence) {
    this.fence = fence;
  }

  /** A new definition; {@code name}, {@code eventTypes} and {@code priority} are required. */
  public record NewDefinition(
      String name,
      Boolean enabled,
      String instructions,
      List<String> eventTypes,
      List<String> sources,
      Integer priority,
      String category,
      String initialOwner,
      List<String> relatedCameras,
      Integer actionRequiredWithinSeconds,
      Integer reactivationSeconds,
      List<String> closeOnEventTypes,
      TimeProfile activeWhen) {}

  /**
   * A change: null leaves a field as it is; "" clears {@code instructions}, {@code category} and
   * {@code initialOwner}, 0 clears {@code actionRequiredWithinSeconds}, an empty list clears a
   * list.
   */
  public record DefinitionChange(
      String name,
      Boolean enabled,
      String instructions,
      List<String> eventTypes,
      List<String> sources,
      Integer priority,
      String category,
      String initialOwner,
      List<String> relatedCameras,
      Integer actionRequiredWithinSeconds,
      Integer reactivationSeconds,
      List<String> closeOnEventTypes,
      TimeProfile activeWhen) {}

  /** A checked definition, ready to store. */
  private record Checked(
      String name,
      boolean enabled,
      String instructions,
      List<String> eventTypes,
      List<String> sources,
      int priority,
      String category,
      String initialOwner,
      List<String> relatedCameras,
      Integer actionRequiredWithinSeconds,
      int reactivationSeconds,
      List<String> closeOnEventTypes,
      TimeProfile activeWhen) {}

  public AlarmDefinition create(Principal actor, NewDefinition in) {
    Checked c =
        check(
            new DefinitionChange(
                in.name(),
                in.enabled() == null ? Boolean.TRUE : in.enabled(),
                in.instructions(),
                in.eventTypes(),
                in.sources() == null ? List.of() : in.sources(),
                in.priority(),
                in.category(),
                in.initialOwner(),
                in.relatedCameras() == null ? List.of() : in.relatedCameras(),
                in.actionRequiredWithinSeconds(),
                in.reactivationSeconds() == null ? 0 : in.reactivationSeconds(),
                in.closeOnEventTypes() == null ? List.of() : in.closeOnEventTypes(),
                in.activeWhen()));
    UUID id = UUID.randomUUID();
    return fence.write(
        h -> {
          bindColumns(h.createUpdate(INSERT).bind("id", id), c).execute();
          AlarmDefinition created = find(h, id).orElseThrow();
          AuditLog.record(
              h, actor, "alarm_definition.added", OBJECT_TYPE, id.toString(), null, created);
          return created;
        });
  }

  public List<AlarmDefinition> list() {
    return fence.read(
        h ->
            h.createQuery("SELECT * FROM alarm_definitions ORDER BY LOWER(name), id")
                .map(AlarmDefinitions::row)
                .list());
  }

  public AlarmDefinition get(UUID id) {
    return fence.read(h -> find(h, id)).orElseThrow(() -> notFound(id));
  }

  public AlarmDefinition update(
      Principal actor, UUID id, long expectedRevision, DefinitionChange change) {
    return fence.write(
        h -> {
          AlarmDefinition before = lock(h, id, expectedRevision);
          Checked c =
              check(
                  new DefinitionChange(
                      change.name() == null ? before.name() : change.name(),
                      change.enabled() == null ? before.enabled() : change.enabled(),
                      change.instructions() == null ? before.instructions() : change.instructions(),
                      change.eventTypes() == null ? before.eventTypes() : change.eventTypes(),
                      change.sources() == null ? before.sources() : change.sources(),
                      change.priority() == null ? before.priority() : change.priority(),
                      change.category() == null ? before.category() : change.category(),
                      change.initialOwner() == null ? before.initialOwner() : change.initialOwner(),
                      change.relatedCameras() == null
                          ? before.relatedCameras()
                          : change.relatedCameras(),
                      change.actionRequiredWithinSeconds() == null
                          ? before.actionRequiredWithinSeconds()
                          : change.actionRequiredWithinSeconds(),
                      change.reactivationSeconds() == null
                          ? before.reactivationSeconds()
                          : change.reactivationSeconds(),
                      change.closeOnEventTypes() == null
                          ? before.closeOnEventTypes()
                          : change.closeOnEventTypes(),
                      change.activeWhen() == null ? before.activeWhen() : change.activeWhen()));
          bindColumns(h.createUpdate(UPDATE).bind("id", id), c).execute();
          AlarmDefinition after = find(h, id).orElseThrow();
          AuditLog.record(
              h, actor, "alarm_definition.updated", OBJECT_TYPE, id.toString(), before, after);
          return after;
        });
  }

  /** Removes a definition; its alarms stay, and no new ones are raised by it. */
  public void remove(Principal actor, UUID id, Long expectedRevision) {
    fence.write(
        h -> {
          AlarmDefinition before = lock(h, id, expectedRevision);
          h.createUpdate("DELETE FROM alarm_definitions WHERE id = :id").bind("id", id).execute();
          AuditLog.record(
              h, actor, "alarm_definition.removed", OBJECT_TYPE, id.toString(), before, null);
          return null;
        });
  }

  /** The enabled definitions, read in the caller's transaction. */
  static List<AlarmDefinition> enabledDefinitions(Handle h) {
    return h.createQuery("SELECT * FROM alarm_definitions WHERE enabled = TRUE ORDER BY id")
        .map(AlarmDefinitions::row)
        .list();
  }

  /** What of a definition the rules need, active whatever the time. */
  static AlarmRules.Definition rule(AlarmDefinition d) {
    return new AlarmRules.Definition(
        d.id(),
        Set.copyOf(d.eventTypes()),
        Set.copyOf(d.sources()),
        d.reactivationSeconds(),
        Set.copyOf(d.closeOnEventTypes()));
  }

  /** What of a definition the rules need at {@code now}: whether its time profile is active. */
  static AlarmRules.Definition rule(AlarmDefinition d, Instant now) {
    boolean active = d.activeWhen() == null || d.activeWhen().check().at(now);
    return new AlarmRules.Definition(
        d.id(),
        Set.copyOf(d.eventTypes()),
        Set.copyOf(d.sources()),
        d.reactivationSeconds(),
        Set.copyOf(d.closeOnEventTypes()),
        active);
  }

  static Optional<AlarmDefinition> find(Handle h, UUID id) {
    return h.createQuery("SELECT * FROM alarm_definitions WHERE id = :id")
        .bind("id", id)
        .map(AlarmDefinitions::row)
        .findOne();
  }

  private static AlarmDefinition lock(Handle h, UUID id, Long expectedRevision) {
    AlarmDefinition current =
        h.createQuery("SELECT * FROM alarm_definitions WHERE id = :id FOR UPDATE")
            .bind("id", id)
            .map(AlarmDefinitions::row)
            .findOne()
            .orElseThrow(() -> notFound(id));
    if (expectedRevision != null && current.revision() != expectedRevision) {
      throw ApiException.conflict(
          "version_conflict",
          "Alarm definition \""
              + current.name()
              + "\" was changed by someone else (your revision "
              + expectedRevision
              + ", current "
              + current.revision()
              + "). Read it again, reapply your change and send the new ETag in If-Match.");
    }
    return current;
  }

  private static ApiException notFound(UUID id) {
    return ApiException.notFound("Alarm definition", id.toString());
  }

  private static <S extends SqlStatement<S>> S bindColumns(S s, Checked c) {
    return s.bind("name", c.name())
        .bind("enabled", c.enabled())
        .bind("instructions", c.instructions())
        .bind("types", json(c.eventTypes()))
        .bind("sources", json(c.sources()))
        .bind("priority", c.priority())
        .bind("category", c.category())
        .bind("owner", c.initialOwner())
        .bind("cameras", json(c.relatedCameras()))
        .bind("within", c.actionRequiredWithinSeconds())
        .bind("reactivation", c.reactivationSeconds())
        .bind("closeOn", json(c.closeOnEventTypes()))
        .bind("activeWhen", c.activeWhen() == null ? null : profileJson(c.activeWhen()));
  }

  // ---- rules

  private static Checked check(DefinitionChange in) {
    String name = name(in.name());
    if (in.eventTypes() == null) {
      throw ApiException.badRequest("missing_field", "Field \"eventTypes\" is required.");
    }
    List<String> types = eventTypes("eventTypes", in.eventTypes(), 1);
    List<String> closeOn = eventTypes("closeOnEventTypes", in.closeOnEventTypes(), 0);
    List<String> sources = new ArrayList<>();
    for (String s : distinct("sources", in.sources(), 0, MAX_SOURCES)) {
      sources.add(EventSource.parse("sources", s).text());
    }
    List<String> cameras = new ArrayList<>();
    for (String s : distinct("relatedCameras", in.relatedCameras(), 0, MAX_CAMERAS)) {
      cameras.add(cameraId(s));
    }
    if (in.priority() == null) {
      throw ApiException.badRequest("missing_field", "Field \"priority\" is required.");
    }
    if (in.priority() < 1 || in.priority() > MAX_PRIORITY) {
      throw ApiException.badRequest(
          "invalid_priority",
          "Field \"priority\" is "
              + in.priority()
              + ": use 1 (high), 2 (medium), 3 (low) or a custom level up to "
              + MAX_PRIORITY
              + ".");
    }
    Integer within = in.actionRequiredWithinSeconds();
    if (within != null && within == 0) {
      within = null;
    }
    if (within != null) {
      seconds("actionRequiredWithinSeconds", within, 1);
    }
    int reactivation = in.reactivationSeconds() == null ? 0 : in.reactivationSeconds();
    seconds("reactivationSeconds", reactivation, 0);
    return new Checked(
        name,
        in.enabled() == null || in.enabled(),
        optionalText("instructions", in.instructions(), 4000, true),
        types,
        List.copyOf(new LinkedHashSet<>(sources)),
        in.priority(),
        optionalText("category", in.category(), 100, false),
        optionalText("initialOwner", in.initialOwner(), 200, false),
        List.copyOf(new LinkedHashSet<>(cameras)),
        within,
        reactivation,
        closeOn,
        activeWhen(in.activeWhen()));
  }

  /** A checked time profile; null, or {@code {}} (neither field), for always active. */
  private static TimeProfile activeWhen(TimeProfile p) {
    if (p == null || (p.timeZone() == null && p.intervals() == null)) {
      return null;
    }
    p.check();
    return p;
  }

  private static String name(String value) {
    if (value == null) {
      throw ApiException.badRequest("missing_field", "Field \"name\" is required.");
    }
    String trimmed = value.strip();
    if (trimmed.isEmpty() || Text.length(trimmed) > 200 || Text.notPrintable(trimmed) != null) {
      throw ApiException.badRequest(
          "invalid_name",
          "Field \"name\" must be 1 to 200 characters without control or invisible formatting"
              + " characters.");
    }
    return trimmed;
  }

  /** Optional text: blank becomes null; {@code multiline} allows line breaks and tabs. */
  private static String optionalText(String field, String value, int max, boolean multiline) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String trimmed = value.strip();
    String problem = multiline ? Text.notText(trimmed) : Text.notPrintable(trimmed);
    if (Text.length(trimmed) > max || problem != null) {
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

  private static List<String> eventTypes(String field, List<String> values, int min) {
    List<String> types = new ArrayList<>();
    for (String t : distinct(field, values, min, MAX_EVENT_TYPES)) {
      types.add(EventInput.type(field, t));
    }
    return List.copyOf(types);
  }

  /** The list without repeats; null is empty. */
  private static Set<String> distinct(String field, List<String> values, int min, int max) {
    List<String> list = values == null ? List.of() : values;
    if (list.size() < min || list.size() > max) {
      throw ApiException.badRequest(
          "invalid_list",
          "Field \""
              + field
              + "\" has "
              + list.size()
              + " items: give "
              + min
              + " to "
              + max
              + ".");
    }
    Set<String> set = new LinkedHashSet<>();
    for (String v : list) {
      if (v == null) {
        throw ApiException.badRequest(
            "wrong_type", "Field \"" + field + "\" holds a null: send strings.");
      }
      set.add(v);
    }
    return set;
  }

  private static String cameraId(String value) {
    try {
      UUID id = UUID.fromString(value);
      if (id.toString().equalsIgnoreCase(value)) {
        return id.toString();
      }
    } catch (IllegalArgumentException e) {
      // answered below
    }
    throw ApiException.badRequest(
        "invalid_id",
        "Field \"relatedCameras\" holds \"" + Text.excerpt(value) + "\", which is no camera id.");
  }

  private static void seconds(String field, int value, int min) {
    if (value < min || value > MAX_SECONDS) {
      throw ApiException.badRequest(
          "invalid_value",
          "Field \""
              + field
              + "\" is "
              + value
              + ": use "
              + min
              + " to "
              + MAX_SECONDS
              + " seconds (30 days).");
    }
  }

  private static String json(List<String> values) {
    try {
      return Json.MAPPER.writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("a list of strings cannot be written as JSON", e);
    }
  }

  private static String profileJson(TimeProfile p) {
    try {
      return Json.MAPPER.writeValueAsString(p);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("a time profile cannot be written as JSON", e);
    }
  }

  private static TimeProfile profile(String json) {
    if (json == null) {
      return null;
    }
    try {
      return Json.MAPPER.readValue(json, TimeProfile.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("An alarm definition's stored time profile is not JSON", e);
    }
  }

  private static List<String> list(String json) {
    try {
      return List.copyOf(Json.MAPPER.readValue(json, STRINGS));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("An alarm definition's stored list is not JSON", e);
    }
  }

  private static AlarmDefinition row(ResultSet rs, StatementContext ctx) throws SQLException {
    Integer within = rs.getInt("action_required_within_seconds");
    if (rs.wasNull()) {
      within = null;
    }
    return new AlarmDefinition(
        rs.getObject("id", UUID.class),
        rs.getString("name"),
        rs.getBoolean("enabled"),
        rs.getString("instructions"),
        list(rs.getString("event_types_json")),
        list(rs.getString("sources_json")),
        rs.getInt("priority"),
        rs.getString("category"),
        rs.getString("initial_owner"),
        list(rs.getString("related_cameras_json")),
        within,
        rs.getInt("reactivation_seconds"),
        list(rs.getString("close_on_event_types_json")),
        profile(rs.getString("active_when_json")),
        rs.getLong("revision"),
        Sql.instant(rs.getTimestamp("created_at")),
        Sql.instant(rs.getTimestamp("updated_at")));
  }
}
