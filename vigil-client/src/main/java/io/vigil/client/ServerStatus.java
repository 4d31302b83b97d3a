package io.vigil.client;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** A registered server's last known state. */
public enum ServerStatus {
  /** Registered, never heard from since. */
  UNKNOWN,
  ONLINE,
  OFFLINE,
  /** Taken out of service by an operator; not expected to report. */
  DISABLED;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<ServerStatus> fromId(String id) {
    return Arrays.stream(values()).filter(t -> t.id().equals(id)).findFirst();
  }

  public static String allIds() {
    return Arrays.stream(values()).map(ServerStatus::id).collect(Collectors.joining(", "));
  }
}
