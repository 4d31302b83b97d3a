package io.vigil.server.events;

import io.vigil.server.http.ApiException;
import io.vigil.server.http.Text;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Where an alarm is in its handling, in order: new, in progress, on hold, closed. An alarm moves
 * forward along that order (skipping is allowed, so a false alarm is closed straight from new) and
 * back to new from any state; nothing else.
 */
public enum AlarmState {
  NEW(0),
  IN_PROGRESS(1),
  ON_HOLD(2),
  CLOSED(3);

  /** The state's place in the handling order. */
  private final int step;

  AlarmState(int step) {
    this.step = step;
  }

  /** The state's name in the API and the database: lower case. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether an alarm in this state may be changed to {@code next} (a different state). */
  public boolean canChangeTo(AlarmState next) {
    return next != this && (next == NEW || next.step > step);
  }

  static AlarmState fromId(String id) {
    return Arrays.stream(values())
        .filter(s -> s.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("unknown alarm state " + id));
  }

  /**
   * @throws ApiException 400 {@code invalid_state} for anything but one of the ids
   */
  static AlarmState parse(String field, String value) {
    return Arrays.stream(values())
        .filter(s -> s.id().equals(value))
        .findFirst()
        .orElseThrow(
            () ->
                ApiException.badRequest(
                    "invalid_state",
                    field
                        + " is \""
                        + Text.excerpt(value)
                        + "\", which is no alarm state. Use one of: "
                        + Arrays.stream(values())
                            .map(AlarmState::id)
                            .collect(Collectors.joining(", "))
                        + "."));
  }
}
