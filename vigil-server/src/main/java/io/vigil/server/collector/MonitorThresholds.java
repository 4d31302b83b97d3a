package io.vigil.server.collector;

import io.vigil.client.ServerType;
import java.util.EnumMap;
import java.util.Map;

/**
 * The built-in thresholds per server type, modelled on XProtect's system monitor: CPU and memory
 * warning at 80 % and critical at 95 %, free disk space warning below 15 % and critical below 5 %,
 * free recording storage warning below 10 % and critical below 5 %, each averaged over 60 s. Mobile
 * servers and API gateways transcode and relay streams in bursts, so their CPU is averaged over 120
 * s and warns at 85 %. The site may replace these per type and per server ({@link SystemMonitor}).
 */
public final class MonitorThresholds {

  private MonitorThresholds() {}

  /** The built-in thresholds of every figure for servers of {@code type}. */
  public static Map<MonitorFigure, MonitorThreshold> builtIn(ServerType type) {
    Map<MonitorFigure, MonitorThreshold> t = new EnumMap<>(MonitorFigure.class);
    boolean bursty = type == ServerType.MOBILE_SERVER || type == ServerType.API_GATEWAY;
    t.put(
        MonitorFigure.CPU,
        bursty ? new MonitorThreshold(85, 95, 120) : new MonitorThreshold(80, 95, 60));
    t.put(MonitorFigure.MEMORY, new MonitorThreshold(80, 95, 60));
    t.put(MonitorFigure.DISK_FREE, new MonitorThreshold(15, 5, 60));
    t.put(MonitorFigure.STORAGE_FREE, new MonitorThreshold(10, 5, 60));
    return t;
  }
}
