package io.vigil.server.collector;

import java.util.Arrays;
import java.util.Optional;

/**
 * A figure's monitor state. {@code unknown} until a full calculation interval of samples has been
 * seen. {@link #rank} orders states worst first for lists: critical, warning, unknown, normal.
 */
public enum MonitorLevel {
  CRITICAL(0),
  WARNING(1),
  UNKNOWN(2),
  NORMAL(3);

  private final int rank;

  MonitorLevel(int rank) {
    this.rank = rank;
  }

  public String id() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** 0 for the worst state (critical) to 3 for normal. */
  public int rank() {
    return rank;
  }

  /** How serious the state is for an event: critical, warning, or info for the rest. */
  public String severity() {
    return switch (this) {
      case CRITICAL -> "critical";
      case WARNING -> "warning";
      case UNKNOWN, NORMAL -> "info";
    };
  }

  public static Optional<MonitorLevel> fromId(String id) {
    return Arrays.stream(values()).filter(l -> l.id().equals(id)).findFirst();
  }

  /** The worse of two states by {@link #rank}. */
  public static MonitorLevel worse(MonitorLevel a, MonitorLevel b) {
    return a.rank <= b.rank ? a : b;
  }
}
