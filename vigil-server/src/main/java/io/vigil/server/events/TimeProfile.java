package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.time.DateTimeException;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * When an alarm definition is active, as an operator writes it: weekly intervals, each on some days
 * of the week from a start to an end time of day, in a time zone. Times are wall-clock times in
 * that zone, so an interval from 08:00 to 17:00 stays 08:00 to 17:00 across daylight saving
 * changes. An interval includes its start and excludes its end; {@code "24:00"} ends at midnight.
 * An interval that would pass midnight is written as two.
 *
 * @param timeZone an IANA zone such as {@code Europe/Copenhagen}, or {@code UTC}
 * @param intervals at least one and at most {@value #MAX_INTERVALS}
 */
public record TimeProfile(String timeZone, List<Interval> intervals) {

  static final int MAX_INTERVALS = 50;

  /**
   * @param days {@code monday} … {@code sunday}
   * @param start {@code HH:mm}
   * @param end {@code HH:mm} after {@code start}, or {@code 24:00}
   */
  public record Interval(List<String> days, String start, String end) {}

  /** A checked profile, ready to evaluate. */
  record Active(ZoneId zone, List<Window> windows) {

    /** Whether {@code at} falls in one of the windows, by the wall clock of the zone. */
    boolean at(Instant at) {
      ZonedDateTime local = at.atZone(zone);
      DayOfWeek day = local.getDayOfWeek();
      LocalTime time = local.toLocalTime();
      return windows.stream().anyMatch(w -> w.contains(day, time));
    }
  }

  /** One interval, checked; {@code end} null is midnight at the end of the day. */
  record Window(Set<DayOfWeek> days, LocalTime start, LocalTime end) {
    boolean contains(DayOfWeek day, LocalTime time) {
      return days.contains(day) && !time.isBefore(start) && (end == null || time.isBefore(end));
    }
  }

  /**
   * Checks the profile.
   *
   * @throws ApiException 400 {@code invalid_time_profile} naming what is wrong
   */
  Active check() {
    ZoneId zone;
    try {
      zone = ZoneId.of(timeZone == null ? "" : timeZone);
    } catch (DateTimeException e) {
      throw invalid(
          "\"timeZone\" is \""
              + Text.excerpt(String.valueOf(timeZone))
              + "\": use an IANA time zone such as Europe/Copenhagen, or UTC");
    }
    if (intervals == null || intervals.isEmpty() || intervals.size() > MAX_INTERVALS) {
      throw invalid("\"intervals\" must hold 1 to " + MAX_INTERVALS + " intervals");
    }
    List<Window> windows = new ArrayList<>();
    for (int i = 0; i < intervals.size(); i++) {
      Interval in = intervals.get(i);
      String at = "\"intervals[" + i + "]\"";
      if (in == null) {
        throw invalid(at + " is null");
      }
      if (in.days() == null || in.days().isEmpty() || in.days().size() > 7) {
        throw invalid(at + " needs 1 to 7 \"days\", such as [\"monday\", \"friday\"]");
      }
      Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
      for (String d : in.days()) {
        try {
          days.add(DayOfWeek.valueOf(String.valueOf(d).toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw invalid(
              at
                  + " names the day \""
                  + Text.excerpt(String.valueOf(d))
                  + "\": use monday … sunday");
        }
      }
      LocalTime start = time(at + ".start", in.start(), false);
      LocalTime end = time(at + ".end", in.end(), true);
      if (end != null && !end.isAfter(start)) {
        throw invalid(
            at
                + " ends at or before it starts: write an interval that passes midnight as two,"
                + " one ending at 24:00 and one starting at 00:00");
      }
      windows.add(new Window(Set.copyOf(days), start, end));
    }
    return new Active(zone, List.copyOf(windows));
  }

  /** A time of day {@code HH:mm}; {@code 24:00}, when allowed, is null (end of the day). */
  private static LocalTime time(String field, String value, boolean endOfDay) {
    if (endOfDay && "24:00".equals(value)) {
      return null;
    }
    try {
      if (value != null && value.matches("[0-2][0-9]:[0-5][0-9]")) {
        return LocalTime.parse(value);
      }
    } catch (DateTimeParseException e) {
      // answered below
    }
    throw invalid(
        field
            + " is \""
            + Text.excerpt(String.valueOf(value))
            + "\": use HH:mm"
            + (endOfDay ? ", or 24:00 for the end of the day" : ""));
  }

  private static ApiException invalid(String what) {
    return ApiException.badRequest(
        "invalid_time_profile", "Field \"activeWhen\" is not a time profile: " + what + ".");
  }
}
