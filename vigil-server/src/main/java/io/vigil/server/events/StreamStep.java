package io.vigil.server.events;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of a live stream client: from its position and the settled high-water mark, and the
 * pages of what its filter lets through in between, the messages to send and where it is after
 * them. Pure, so that "nothing missed, nothing twice" is tested without a database.
 *
 * <p>Events come first, then alarm changes (an alarm raised by an event is sent after the event).
 * Each message's id is the position right after it. A page that came back full may have more behind
 * it, so the position stops at its last row; otherwise nothing the filter lets through is left
 * below the mark, and the position moves to the mark, so rows the filter excludes are not read
 * again.
 */
final class StreamStep {

  private StreamStep() {}

  /** A message of the stream: its SSE event name, its id and what it carries. */
  record Message(String name, String id, Object data) {}

  /** The messages of a step and the position after them. */
  record Result(List<Message> messages, StreamPosition next) {}

  /**
   * @param from where the client is
   * @param mark the settled high-water mark, at or past {@code from}
   * @param events the events after {@code from.events()} up to the mark that the filter lets
   *     through, in id order
   * @param moreEvents whether the events page was full (there may be more up to the mark)
   * @param changes the same for alarm changes
   */
  static Result step(
      StreamPosition from,
      StreamPosition mark,
      List<Event> events,
      boolean moreEvents,
      List<AlarmChange> changes,
      boolean moreChanges) {
    List<Message> messages = new ArrayList<>(events.size() + changes.size());
    long e = from.events();
    for (Event event : events) {
      check(event.id(), e, mark.events(), "event");
      e = event.id();
      messages.add(new Message("event", new StreamPosition(e, from.alarms()).id(), event));
    }
    if (!moreEvents) {
      e = Math.max(e, mark.events());
    }
    long a = from.alarms();
    for (AlarmChange change : changes) {
      check(change.activityId(), a, mark.alarms(), "alarm change");
      a = change.activityId();
      messages.add(new Message("alarm", new StreamPosition(e, a).id(), change));
    }
    if (!moreChanges) {
      a = Math.max(a, mark.alarms());
    }
    return new Result(List.copyOf(messages), new StreamPosition(e, a));
  }

  private static void check(long id, long after, long upTo, String what) {
    if (id <= after || id > upTo) {
      throw new IllegalArgumentException(
          what + " " + id + " is not after " + after + " and at or below " + upTo);
    }
  }
}
