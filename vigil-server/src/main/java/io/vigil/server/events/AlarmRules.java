package io.vigil.server.events;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * What one stored event does to the alarms: a pure decision from the event, the enabled
 * definitions, the open alarms and the time, with no database. {@code EventStore} applies the
 * decisions in the event's transaction.
 *
 * <p>For each enabled definition, in the order given: an event whose type is one of the
 * definition's {@code closeOnEventTypes} closes every open alarm of that definition and source
 * first; then an event whose type is one of its {@code eventTypes}, from one of its {@code sources}
 * (any, when there are none), either counts on the newest open alarm of that definition and source
 * when that alarm was raised or last counted less than {@code reactivationSeconds} ago, or raises a
 * new alarm. A disabled definition does nothing, closing included. Outside its time profile ({@code
 * active} false) a definition neither raises nor counts, but still closes.
 */
public final class AlarmRules {

  private AlarmRules() {}

  /** What of a definition the decision needs. */
  public record Definition(
      UUID id,
      Set<String> eventTypes,
      Set<String> sources,
      int reactivationSeconds,
      Set<String> closeOnEventTypes,
      boolean active) {

    /** A definition without a time profile, or one whose profile is active now. */
    public Definition(
        UUID id,
        Set<String> eventTypes,
        Set<String> sources,
        int reactivationSeconds,
        Set<String> closeOnEventTypes) {
      this(id, eventTypes, sources, reactivationSeconds, closeOnEventTypes, true);
    }

    boolean triggeredBy(String type, String source) {
      return eventTypes.contains(type) && (sources.isEmpty() || sources.contains(source));
    }
  }

  /**
   * An alarm that is not closed.
   *
   * @param lastEventAt when it was raised or last counted, by the database's clock
   */
  public record OpenAlarm(long id, UUID definitionId, String source, Instant lastEventAt) {}

  /** What to do. */
  public sealed interface Decision {}

  /** Raise a new alarm of {@code definition} for the event's source. */
  public record Raise(UUID definition) implements Decision {}

  /** Count the event on the open alarm {@code alarm}. */
  public record Count(long alarm) implements Decision {}

  /** Close the open alarm {@code alarm}. */
  public record Close(long alarm) implements Decision {}

  /**
   * The decisions for an event of {@code type} from {@code source}, stored at {@code now}.
   *
   * @param enabled the enabled definitions
   * @param open the open alarms of those definitions for {@code source}
   */
  public static List<Decision> decide(
      String type, String source, Instant now, List<Definition> enabled, List<OpenAlarm> open) {
    List<Decision> decisions = new ArrayList<>();
    Set<Long> closed = new HashSet<>();
    for (Definition d : enabled) {
      if (d.closeOnEventTypes().contains(type)) {
        for (OpenAlarm a : open) {
          if (a.definitionId().equals(d.id()) && a.source().equals(source)) {
            decisions.add(new Close(a.id()));
            closed.add(a.id());
          }
        }
      }
      if (d.active() && d.triggeredBy(type, source)) {
        Optional<OpenAlarm> recent =
            open.stream()
                .filter(a -> !closed.contains(a.id()))
                .filter(a -> a.definitionId().equals(d.id()) && a.source().equals(source))
                .filter(a -> withinReactivation(a.lastEventAt(), now, d.reactivationSeconds()))
                .max(java.util.Comparator.comparingLong(OpenAlarm::id));
        decisions.add(
            recent.<Decision>map(a -> new Count(a.id())).orElseGet(() -> new Raise(d.id())));
      }
    }
    return List.copyOf(decisions);
  }

  /** Whether an event at {@code now} is less than {@code seconds} after {@code last}. */
  static boolean withinReactivation(Instant last, Instant now, int seconds) {
    return seconds > 0 && now.isBefore(last.plusSeconds(seconds));
  }

  /** Whether an event of {@code type} could change anything for {@code definitions}. */
  public static boolean concerns(String type, List<Definition> definitions) {
    return definitions.stream()
        .anyMatch(d -> d.eventTypes().contains(type) || d.closeOnEventTypes().contains(type));
  }

  /**
   * When an alarm raised at {@code raisedAt} must have been acted on: empty when its definition
   * sets no limit ({@code actionRequiredWithinSeconds} null).
   */
  public static Optional<Instant> actionDueAt(
      Instant raisedAt, Integer actionRequiredWithinSeconds) {
    return actionRequiredWithinSeconds == null
        ? Optional.empty()
        : Optional.of(raisedAt.plusSeconds(actionRequiredWithinSeconds));
  }

  /**
   * Whether an alarm escalates at {@code now}: it is still {@code new} and its action was due at or
   * before {@code now}. {@code dueAt} is null for an alarm with no limit, and becomes null once the
   * alarm escalated or an operator changed its state, so that an alarm escalates at most once.
   */
  public static boolean escalates(String state, Instant dueAt, Instant now) {
    return AlarmState.NEW.id().equals(state) && dueAt != null && !now.isBefore(dueAt);
  }
}
