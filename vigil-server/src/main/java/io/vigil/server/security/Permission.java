package io.vigil.server.security;

/** What a caller may do; each API route requires exactly one. */
public enum Permission {
  SERVERS_READ,
  SERVERS_WRITE,
  CONFIG_READ,
  CONFIG_WRITE,
  SETTINGS_READ,
  SETTINGS_WRITE,
  USERS_READ,
  USERS_WRITE,
  AUDIT_READ,
  CLUSTER_READ,
  CLUSTER_WRITE,
  EVENTS_READ,
  EVENTS_WRITE,
  ALARMS_READ,
  ALARMS_WRITE,
  MONITOR_READ,
  MONITOR_WRITE
}
