package io.vigil.client;

import java.util.List;

/**
 * Load figures a server sends with its heartbeat, each optional (null: not measured). Percentages
 * are 0-100, byte counts and counters at least 0. The management server keeps the latest and its
 * system monitor averages them against its thresholds.
 *
 * @param disks free space per volume, at most 32 volumes
 */
public record Load(
    Double cpuPercent,
    Double memoryPercent,
    List<Disk> disks,
    Long camerasRecording,
    Long storageUsedBytes,
    Long storageFreeBytes,
    Long streamsServed) {

  /** A volume's free space. */
  public record Disk(String volume, Long freeBytes, Long totalBytes) {}
}
