package io.vigil.server.collector;

/**
 * A figure's warning and critical levels, in percent, and the calculation interval over which
 * samples are averaged before they are compared with the levels. For a figure where higher is worse
 * the critical level is above the warning level; where lower is worse, below it.
 *
 * @param warning the level at which the figure becomes {@code warning}
 * @param critical the level at which the figure becomes {@code critical}
 * @param intervalSeconds the calculation interval
 */
public record MonitorThreshold(double warning, double critical, int intervalSeconds) {

  public static final int MIN_INTERVAL_SECONDS = 10;
  public static final int MAX_INTERVAL_SECONDS = 3600;

  /** Why these levels make no sense for {@code figure}, for an operator; null when they do. */
  public String problem(MonitorFigure figure) {
    if (!(warning >= 0 && warning <= 100) || !(critical >= 0 && critical <= 100)) {
      return "the warning and critical levels of \""
          + figure.id()
          + "\" must be percentages between 0 and 100";
    }
    if (figure.higherIsWorse() ? critical < warning : critical > warning) {
      return "the critical level of \""
          + figure.id()
          + "\" must be "
          + (figure.higherIsWorse() ? "at or above" : "at or below")
          + " its warning level ("
          + (figure.higherIsWorse() ? "higher" : "lower")
          + " is worse)";
    }
    if (intervalSeconds < MIN_INTERVAL_SECONDS || intervalSeconds > MAX_INTERVAL_SECONDS) {
      return "the calculation interval of \""
          + figure.id()
          + "\" must be between "
          + MIN_INTERVAL_SECONDS
          + " and "
          + MAX_INTERVAL_SECONDS
          + " seconds";
    }
    return null;
  }
}
