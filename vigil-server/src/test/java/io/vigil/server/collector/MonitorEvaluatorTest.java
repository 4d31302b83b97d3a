package io.vigil.server.collector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vigil.server.collector.MonitorEvaluator.Result;
import io.vigil.server.collector.MonitorEvaluator.Sample;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MonitorEvaluatorTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final MonitorThreshold CPU = new MonitorThreshold(80, 95, 60);
  private static final MonitorThreshold DISK = new MonitorThreshold(15, 5, 60);

  /** A fake heartbeat stream: one sample every 5 s, with the clock advancing as it goes. */
  private static final class Feed {
    final List<Sample> samples = new ArrayList<>();
    Instant now = T0;

    Feed run(int seconds, double value) {
      for (int i = 0; i < seconds; i += 5) {
        now = now.plusSeconds(5);
        samples.add(new Sample(now, value));
      }
      return this;
    }

    Result eval(MonitorFigure f, MonitorThreshold t, MonitorLevel current) {
      return MonitorEvaluator.evaluate(f, t, samples, now, current);
    }
  }

  @Test
  void oneSpikeAmongNormalValuesRaisesNothing() {
    Feed feed = new Feed().run(30, 30).run(5, 100).run(25, 30);
    Result r = feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL);
    assertEquals(MonitorLevel.NORMAL, r.level());
    assertTrue(r.average() < 80, "average " + r.average());
  }

  @Test
  void sustainedLoadRaisesWarningThenCritical() {
    Feed feed = new Feed().run(60, 85);
    assertEquals(
        MonitorLevel.WARNING, feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL).level());
    feed.run(60, 99);
    assertEquals(
        MonitorLevel.CRITICAL, feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.WARNING).level());
  }

  @Test
  void averageUsesOnlyTheCalculationInterval() {
    Feed feed = new Feed().run(600, 99).run(60, 20);
    Result r = feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL);
    assertEquals(20.0, r.average(), 0.001);
    assertEquals(MonitorLevel.NORMAL, r.level());
  }

  @Test
  void criticalFallsBackToWarningOnlyPastTheHysteresisMargin() {
    // 92 is below critical (95) but within 5 points of it: stays critical.
    assertEquals(
        MonitorLevel.CRITICAL,
        new Feed().run(60, 92).eval(MonitorFigure.CPU, CPU, MonitorLevel.CRITICAL).level());
    // 89 is more than 5 points below critical and above warning: warning.
    assertEquals(
        MonitorLevel.WARNING,
        new Feed().run(60, 89).eval(MonitorFigure.CPU, CPU, MonitorLevel.CRITICAL).level());
  }

  @Test
  void warningReturnsToNormalOnlyPastTheHysteresisMargin() {
    assertEquals(
        MonitorLevel.WARNING,
        new Feed().run(60, 77).eval(MonitorFigure.CPU, CPU, MonitorLevel.WARNING).level());
    assertEquals(
        MonitorLevel.NORMAL,
        new Feed().run(60, 74).eval(MonitorFigure.CPU, CPU, MonitorLevel.WARNING).level());
    // From normal, the same 77 stays normal: the margin only applies when leaving a state.
    assertEquals(
        MonitorLevel.NORMAL,
        new Feed().run(60, 77).eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL).level());
  }

  @Test
  void criticalDropsStraightToNormalWhenFarBelowBothLevels() {
    assertEquals(
        MonitorLevel.NORMAL,
        new Feed().run(60, 10).eval(MonitorFigure.CPU, CPU, MonitorLevel.CRITICAL).level());
  }

  @Test
  void freeSpaceIsWorseWhenLower() {
    assertEquals(
        MonitorLevel.WARNING,
        new Feed().run(60, 12).eval(MonitorFigure.DISK_FREE, DISK, MonitorLevel.NORMAL).level());
    assertEquals(
        MonitorLevel.CRITICAL,
        new Feed().run(60, 4).eval(MonitorFigure.DISK_FREE, DISK, MonitorLevel.NORMAL).level());
    // Hysteresis upwards: warning at 15 % free needs more than 20 % to be normal again.
    assertEquals(
        MonitorLevel.WARNING,
        new Feed().run(60, 18).eval(MonitorFigure.DISK_FREE, DISK, MonitorLevel.WARNING).level());
    assertEquals(
        MonitorLevel.NORMAL,
        new Feed().run(60, 21).eval(MonitorFigure.DISK_FREE, DISK, MonitorLevel.WARNING).level());
  }

  @Test
  void noSamplesLeaveTheStateUnchanged() {
    Feed feed = new Feed();
    feed.now = T0.plusSeconds(600);
    Result r = feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.WARNING);
    assertFalse(r.decided());
    assertNull(r.average());
    assertEquals(MonitorLevel.WARNING, r.level());
    assertEquals(
        MonitorLevel.UNKNOWN, feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.UNKNOWN).level());
  }

  @Test
  void samplesCoveringLessThanHalfTheIntervalDecideNothing() {
    // A server that just came up (or a new owner after a failover) sends 99 for 20 s.
    Feed feed = new Feed().run(20, 99);
    Result r = feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL);
    assertFalse(r.decided());
    assertEquals(MonitorLevel.NORMAL, r.level());
    feed.run(15, 99);
    assertEquals(
        MonitorLevel.CRITICAL, feed.eval(MonitorFigure.CPU, CPU, MonitorLevel.NORMAL).level());
  }

  @Test
  void unknownStateIsDecidedOnTheFirstFullInterval() {
    assertEquals(
        MonitorLevel.NORMAL,
        new Feed().run(60, 40).eval(MonitorFigure.CPU, CPU, MonitorLevel.UNKNOWN).level());
  }

  @Test
  void figuresAreReadFromTheHeartbeatLoad() {
    io.vigil.client.Load load =
        new io.vigil.client.Load(
            12.5,
            40.0,
            List.of(
                new io.vigil.client.Load.Disk("C:", 50L, 100L),
                new io.vigil.client.Load.Disk("D:", 10L, 200L)),
            3L,
            300L,
            100L,
            2L);
    assertEquals(12.5, MonitorFigure.CPU.read(load));
    assertEquals(40.0, MonitorFigure.MEMORY.read(load));
    assertEquals(5.0, MonitorFigure.DISK_FREE.read(load), 0.001);
    assertEquals(25.0, MonitorFigure.STORAGE_FREE.read(load), 0.001);
    io.vigil.client.Load empty = new io.vigil.client.Load(null, null, null, null, null, null, null);
    for (MonitorFigure f : MonitorFigure.values()) {
      assertNull(f.read(empty), f.id());
    }
  }

  @Test
  void eventNamesAreLowerCase() {
    assertEquals("cpu", MonitorFigure.CPU.eventName());
    assertEquals("disk_free", MonitorFigure.DISK_FREE.eventName());
    assertEquals("storage_free", MonitorFigure.STORAGE_FREE.eventName());
  }

  @Test
  void thresholdLevelsMustRunInTheFiguresDirection() {
    assertNull(CPU.problem(MonitorFigure.CPU));
    assertTrue(new MonitorThreshold(95, 80, 60).problem(MonitorFigure.CPU).contains("at or above"));
    assertTrue(DISK.problem(MonitorFigure.CPU) != null);
    assertNull(DISK.problem(MonitorFigure.DISK_FREE));
    assertTrue(new MonitorThreshold(80, 95, 5).problem(MonitorFigure.CPU).contains("interval"));
    assertTrue(new MonitorThreshold(80, 101, 60).problem(MonitorFigure.CPU).contains("between"));
  }
}
