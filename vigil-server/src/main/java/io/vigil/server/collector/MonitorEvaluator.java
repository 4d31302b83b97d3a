package io.vigil.server.collector;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Decides a figure's monitor state from the samples of its calculation interval. Pure: no clock and
 * no database; the caller passes the time of the calculation.
 *
 * <ul>
 *   <li>The samples taken in the calculation interval up to {@code now} (after its start, up to and
 *       including {@code now}) are averaged, so a single spike among normal values raises nothing.
 *   <li>A decision needs samples that cover at least half the interval (the oldest in the window is
 *       that old); until then, and when no sample arrived in the interval (a server that stopped
 *       sending the figure, or went offline), the state stays as it was.
 *   <li>A worse state is entered as soon as the average reaches its level. A better state needs the
 *       average to pass back beyond the level by {@link #HYSTERESIS_POINTS} percentage points: with
 *       CPU warning at 80, a server at warning returns to normal only below 75.
 * </ul>
 */
public final class MonitorEvaluator {

  /** How far past a level the average must fall back before the state improves. */
  public static final double HYSTERESIS_POINTS = 5.0;

  private MonitorEvaluator() {}

  /** A figure's value at a time. */
  public record Sample(Instant at, double value) {}

  /**
   * The outcome of a calculation.
   *
   * @param level the new state (the current one when nothing could be decided)
   * @param average the interval's average; null when nothing could be decided
   */
  public record Result(MonitorLevel level, Double average) {
    public boolean decided() {
      return average != null;
    }
  }

  /**
   * @param samples the figure's samples in any order; those outside the interval are ignored
   * @param current the state before this calculation
   */
  public static Result evaluate(
      MonitorFigure figure,
      MonitorThreshold threshold,
      List<Sample> samples,
      Instant now,
      MonitorLevel current) {
    Instant from = now.minusSeconds(threshold.intervalSeconds());
    double sum = 0;
    int count = 0;
    Instant oldest = null;
    for (Sample s : samples) {
      if (!s.at().isAfter(from) || s.at().isAfter(now)) {
        continue;
      }
      sum += s.value();
      count++;
      if (oldest == null || s.at().isBefore(oldest)) {
        oldest = s.at();
      }
    }
    if (count == 0
        || Duration.between(oldest, now).toMillis() * 2 < threshold.intervalSeconds() * 1000L) {
      return new Result(current, null);
    }
    double average = sum / count;
    return new Result(level(figure, threshold, average, current), average);
  }

  /** The state for {@code average}, given the state before and the hysteresis. */
  static MonitorLevel level(
      MonitorFigure figure, MonitorThreshold threshold, double average, MonitorLevel current) {
    // Work in "badness", where higher is always worse, so one comparison serves both directions.
    double sign = figure.higherIsWorse() ? 1 : -1;
    double bad = sign * average;
    double warning = sign * threshold.warning();
    double critical = sign * threshold.critical();
    MonitorLevel raw =
        bad >= critical
            ? MonitorLevel.CRITICAL
            : bad >= warning ? MonitorLevel.WARNING : MonitorLevel.NORMAL;
    MonitorLevel held = current == MonitorLevel.UNKNOWN ? MonitorLevel.NORMAL : current;
    if (raw.rank() <= held.rank()) {
      return raw; // as bad or worse: enter at once
    }
    // Better: step down only past each level by the margin.
    if (held == MonitorLevel.CRITICAL && bad >= critical - HYSTERESIS_POINTS) {
      return MonitorLevel.CRITICAL;
    }
    if (held.rank() <= MonitorLevel.WARNING.rank() && bad >= warning - HYSTERESIS_POINTS) {
      return MonitorLevel.WARNING;
    }
    return MonitorLevel.NORMAL;
  }
}
