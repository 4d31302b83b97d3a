package io.vigil.client;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** The kinds of server that register with the management server. */
public enum ServerType {
  RECORDING_SERVER,
  FAILOVER_RECORDING_SERVER,
  MOBILE_SERVER,
  EVENT_SERVER,
  API_GATEWAY,
  LOG_SERVER,
  DATA_COLLECTOR,
  OTHER;

  /** The type's name on the wire: lower case with hyphens, e.g. {@code recording-server}. */
  public String id() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static Optional<ServerType> fromId(String id) {
    return Arrays.stream(values()).filter(t -> t.id().equals(id)).findFirst();
  }

  /** Every id, comma-separated, for error messages. */
  public static String allIds() {
    return Arrays.stream(values()).map(ServerType::id).collect(Collectors.joining(", "));
  }
}
