package io.vigil.server.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.client.ServerStatus;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ServerLivenessTest {

  static final Instant REGISTERED = Instant.parse("2026-01-01T00:00:00Z");
  static final Duration EVERY_5S = Duration.ofSeconds(5);

  final ServerLiveness liveness = new ServerLiveness(3);

  static Instant at(long seconds) {
    return REGISTERED.plusSeconds(seconds);
  }

  @Test
  void anOnlineServerGoesOfflineAfterThreeMissedHeartbeatsNotBefore() {
    Instant beat = at(100);
    assertThat(liveness.afterSilence(at(114), REGISTERED, beat, EVERY_5S, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.ONLINE);
    assertThat(liveness.afterSilence(at(115), REGISTERED, beat, EVERY_5S, ServerStatus.ONLINE))
        .as("exactly three intervals: the third heartbeat may still be on its way")
        .isEqualTo(ServerStatus.ONLINE);
    assertThat(
            liveness.afterSilence(
                at(115).plusMillis(1), REGISTERED, beat, EVERY_5S, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.OFFLINE);
  }

  @Test
  void theMissedCountAndEachServersIntervalSetTheDeadline() {
    ServerLiveness one = new ServerLiveness(1);
    Duration everyMinute = Duration.ofMinutes(1);
    assertThat(one.afterSilence(at(59), REGISTERED, at(0), everyMinute, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.ONLINE);
    assertThat(one.afterSilence(at(61), REGISTERED, at(0), everyMinute, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.OFFLINE);
    assertThat(liveness.afterSilence(at(179), REGISTERED, at(0), everyMinute, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.ONLINE);
    assertThat(liveness.afterSilence(at(181), REGISTERED, at(0), everyMinute, ServerStatus.ONLINE))
        .isEqualTo(ServerStatus.OFFLINE);
  }

  @Test
  void aNeverSeenServerCountsFromItsRegistration() {
    assertThat(liveness.afterSilence(at(15), REGISTERED, null, EVERY_5S, ServerStatus.UNKNOWN))
        .isEqualTo(ServerStatus.UNKNOWN);
    assertThat(liveness.afterSilence(at(16), REGISTERED, null, EVERY_5S, ServerStatus.UNKNOWN))
        .isEqualTo(ServerStatus.OFFLINE);
  }

  @Test
  void aDisabledServerIsNeitherOnlineNorOffline() {
    assertThat(liveness.afterSilence(at(3600), REGISTERED, at(0), EVERY_5S, ServerStatus.DISABLED))
        .isEqualTo(ServerStatus.DISABLED);
    assertThat(liveness.afterSilence(at(3600), REGISTERED, null, EVERY_5S, ServerStatus.DISABLED))
        .isEqualTo(ServerStatus.DISABLED);
    assertThat(ServerLiveness.afterHeartbeat(ServerStatus.DISABLED))
        .isEqualTo(ServerStatus.DISABLED);
    assertThat(ServerLiveness.connection(ServerStatus.DISABLED)).isEqualTo("unknown");
  }

  @Test
  void anOfflineServerStaysOfflineUntilAHeartbeatBringsItOnline() {
    assertThat(liveness.afterSilence(at(10), REGISTERED, at(9), EVERY_5S, ServerStatus.OFFLINE))
        .as("silence never brings a server online")
        .isEqualTo(ServerStatus.OFFLINE);
    assertThat(ServerLiveness.afterHeartbeat(ServerStatus.OFFLINE)).isEqualTo(ServerStatus.ONLINE);
    assertThat(ServerLiveness.afterHeartbeat(ServerStatus.UNKNOWN)).isEqualTo(ServerStatus.ONLINE);
    assertThat(ServerLiveness.afterHeartbeat(ServerStatus.ONLINE)).isEqualTo(ServerStatus.ONLINE);
  }

  @Test
  void theConnectionShownFollowsTheStatus() {
    assertThat(ServerLiveness.connection(ServerStatus.ONLINE)).isEqualTo("online");
    assertThat(ServerLiveness.connection(ServerStatus.OFFLINE)).isEqualTo("offline");
    assertThat(ServerLiveness.connection(ServerStatus.UNKNOWN)).isEqualTo("unknown");
  }

  @Test
  void atLeastOneMissedHeartbeat() {
    assertThatThrownBy(() -> new ServerLiveness(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
