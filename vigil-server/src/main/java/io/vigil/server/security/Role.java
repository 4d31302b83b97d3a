package io.vigil.server.security;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The built-in roles. A user or a confidential client holds one or more; a caller's permissions are
 * the union of its roles' permissions.
 */
public enum Role {
  /** Reads everything an operator sees; changes nothing. */
  VIEWER(
      EnumSet.of(
          Permission.SERVERS_READ,
          Permission.CONFIG_READ,
          Permission.SETTINGS_READ,
          Permission.CLUSTER_READ,
          Permission.EVENTS_READ,
          Permission.ALARMS_READ,
          Permission.MONITOR_READ)),
  /**
   * Runs the site: registers servers, edits hardware and cameras, reads and posts events, defines
   * and handles alarms, watches the system monitor and sets its thresholds.
   */
  OPERATOR(
      EnumSet.of(
          Permission.SERVERS_READ,
          Permission.SERVERS_WRITE,
          Permission.CONFIG_READ,
          Permission.CONFIG_WRITE,
          Permission.SETTINGS_READ,
          Permission.CLUSTER_READ,
          Permission.EVENTS_READ,
          Permission.EVENTS_WRITE,
          Permission.ALARMS_READ,
          Permission.ALARMS_WRITE,
          Permission.MONITOR_READ,
          Permission.MONITOR_WRITE)),
  /**
   * A component (recording server, mobile server, …) that registers itself, reads its config and
   * keeps its own hardware and cameras, and posts events about them. Its writes are limited to the
   * server it registered, and it never disables or re-enables a server (see {@code
   * management.ServerOwnership}).
   */
  COMPONENT(
      EnumSet.of(
          Permission.SERVERS_READ,
          Permission.SERVERS_WRITE,
          Permission.CONFIG_READ,
          Permission.CONFIG_WRITE,
          Permission.SETTINGS_READ,
          Permission.EVENTS_WRITE)),
  /** Everything, including users, site settings, the audit log and the cluster. */
  ADMINISTRATOR(EnumSet.allOf(Permission.class));

  @SuppressWarnings("ImmutableEnumChecker") // Set.copyOf in the constructor: unmodifiable
  private final Set<Permission> permissions;

  Role(Set<Permission> permissions) {
    this.permissions = Set.copyOf(permissions);
  }

  public Set<Permission> permissions() {
    return permissions;
  }

  /** The role's name as used in the API and in tokens: lower case. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Role> fromId(String id) {
    return Arrays.stream(values()).filter(r -> r.id().equals(id)).findFirst();
  }
}
