package io.vigil.server.collector;

import io.vigil.client.ServerStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * Whether a registered server is online, from its heartbeats alone: no clock, database or timer of
 * its own, so every case is a plain unit test. Times are the database's.
 *
 * <p>A server that has sent no heartbeat for {@code missedHeartbeats} of its intervals goes
 * offline; one that never sent any counts from its registration. An offline server stays offline
 * until its next heartbeat, which brings it online. A disabled server is taken out of service by an
 * operator and is neither: its status is left alone.
 */
public final class ServerLiveness {

  private final int missedHeartbeats;

  /**
   * @param missedHeartbeats how many intervals may pass without a heartbeat, at least 1
   */
  public ServerLiveness(int missedHeartbeats) {
    if (missedHeartbeats < 1) {
      throw new IllegalArgumentException("missedHeartbeats must be at least 1");
    }
    this.missedHeartbeats = missedHeartbeats;
  }

  public int missedHeartbeats() {
    return missedHeartbeats;
  }

  /**
   * The status a server should have at {@code now} when no heartbeat arrives.
   *
   * @param lastSeenAt its last heartbeat, null when it never sent one
   * @param interval its heartbeat interval
   */
  public ServerStatus afterSilence(
      Instant now,
      Instant registeredAt,
      Instant lastSeenAt,
      Duration interval,
      ServerStatus current) {
    if (current != ServerStatus.ONLINE && current != ServerStatus.UNKNOWN) {
      return current;
    }
    Instant since = lastSeenAt != null ? lastSeenAt : registeredAt;
    Instant deadline = since.plus(interval.multipliedBy(missedHeartbeats));
    return now.isAfter(deadline) ? ServerStatus.OFFLINE : current;
  }

  /** The status after a heartbeat: online, unless an operator disabled the server. */
  public static ServerStatus afterHeartbeat(ServerStatus current) {
    return current == ServerStatus.DISABLED ? ServerStatus.DISABLED : ServerStatus.ONLINE;
  }

  /**
   * The connection the API shows for a status: {@code online}, {@code offline} or {@code unknown}.
   */
  public static String connection(ServerStatus status) {
    return switch (status) {
      case ONLINE -> "online";
      case OFFLINE -> "offline";
      case UNKNOWN, DISABLED -> "unknown";
    };
  }
}
