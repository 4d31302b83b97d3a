package io.vigil.server.collector;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The load figures the system monitor watches, each a percentage read from a heartbeat's {@link
 * io.vigil.client.Load}. For {@code cpu} and {@code memory} a higher value is worse; for {@code
 * diskFree} (the lowest free share of any volume) and {@code storageFree} (free storage as a share
 * of used plus free) a lower value is worse.
 */
public enum MonitorFigure {
  CPU("cpu", true),
  MEMORY("memory", true),
  DISK_FREE("diskFree", false),
  STORAGE_FREE("storageFree", false);

  private final String id;
  private final boolean higherIsWorse;

  MonitorFigure(String id, boolean higherIsWorse) {
    this.id = id;
    this.higherIsWorse = higherIsWorse;
  }

  /** The figure's name on the wire and in event types, e.g. {@code diskFree}. */
  public String id() {
    return id;
  }

  /**
   * The figure's name in event types, which are dotted lower-case names: {@code cpu}, {@code
   * memory}, {@code disk_free}, {@code storage_free}.
   */
  public String eventName() {
    return id.replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT);
  }

  public boolean higherIsWorse() {
    return higherIsWorse;
  }

  public static Optional<MonitorFigure> fromId(String id) {
    return Arrays.stream(values()).filter(f -> f.id.equals(id)).findFirst();
  }

  /** Every id, comma-separated, for error messages. */
  public static String allIds() {
    return Arrays.stream(values()).map(MonitorFigure::id).collect(Collectors.joining(", "));
  }

  /**
   * This figure's value in {@code load}, as a percentage; null when the heartbeat did not carry
   * what it needs.
   */
  public Double read(io.vigil.client.Load load) {
    if (load == null) {
      return null;
    }
    return switch (this) {
      case CPU -> load.cpuPercent();
      case MEMORY -> load.memoryPercent();
      case DISK_FREE -> lowestFree(load.disks());
      case STORAGE_FREE -> storageFree(load.storageUsedBytes(), load.storageFreeBytes());
    };
  }

  private static Double lowestFree(List<io.vigil.client.Load.Disk> disks) {
    if (disks == null) {
      return null;
    }
    Double lowest = null;
    for (io.vigil.client.Load.Disk d : disks) {
      if (d == null || d.freeBytes() == null || d.totalBytes() == null || d.totalBytes() <= 0) {
        continue;
      }
      double free = 100.0 * d.freeBytes() / d.totalBytes();
      if (lowest == null || free < lowest) {
        lowest = free;
      }
    }
    return lowest;
  }

  private static Double storageFree(Long used, Long free) {
    if (used == null || free == null || used + free <= 0) {
      return null;
    }
    return 100.0 * free / (used + free);
  }
}
