package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.http.ApiException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class StreamStepTest {

  static Event event(long id) {
    return new Event(
        id,
        "door.forced",
        "external:door",
        "warning",
        Instant.EPOCH,
        Instant.EPOCH,
        null,
        null,
        null);
  }

  static AlarmChange change(long id) {
    Alarm alarm =
        new Alarm(
            7,
            "new",
            1,
            UUID.randomUUID(),
            "external:door",
            1,
            null,
            null,
            Instant.EPOCH,
            Instant.EPOCH,
            Instant.EPOCH,
            1,
            1,
            1,
            null);
    return new AlarmChange(id, Instant.EPOCH, "vigil", "raised", null, alarm);
  }

  static StreamPosition pos(long e, long a) {
    return new StreamPosition(e, a);
  }

  @Test
  void eachMessageIdIsThePositionRightAfterIt() {
    var r =
        StreamStep.step(
            pos(4, 2), pos(6, 3), List.of(event(5), event(6)), false, List.of(change(3)), false);

    assertThat(r.messages())
        .extracting(StreamStep.Message::name, StreamStep.Message::id)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("event", "5.2"),
            org.assertj.core.groups.Tuple.tuple("event", "6.2"),
            org.assertj.core.groups.Tuple.tuple("alarm", "6.3"));
    assertThat(r.next()).isEqualTo(pos(6, 3));
  }

  @Test
  void aPageThatCameBackFullStopsAtItsLastRowAndTheOtherMovesToTheMark() {
    var r =
        StreamStep.step(
            pos(0, 0), pos(500, 40), List.of(event(1), event(2)), true, List.of(), false);

    assertThat(r.next()).isEqualTo(pos(2, 40));
  }

  @Test
  void rowsTheFilterExcludedAreSkippedUpToTheMark() {
    var r = StreamStep.step(pos(10, 5), pos(90, 9), List.of(event(42)), false, List.of(), false);

    assertThat(r.messages()).extracting(StreamStep.Message::id).containsExactly("42.5");
    assertThat(r.next()).isEqualTo(pos(90, 9));
  }

  @Test
  void aPositionPastTheMarkDoesNotMoveBack() {
    var r = StreamStep.step(pos(900, 3), pos(50, 8), List.of(), false, List.of(change(4)), false);

    assertThat(r.next()).isEqualTo(pos(900, 8));
    assertThat(r.messages()).extracting(StreamStep.Message::id).containsExactly("900.4");
  }

  @Test
  void rowsOutsideTheWindowAreRefused() {
    assertThatThrownBy(
            () -> StreamStep.step(pos(5, 0), pos(9, 0), List.of(event(5)), false, List.of(), false))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                StreamStep.step(pos(5, 0), pos(9, 0), List.of(event(10)), false, List.of(), false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * A client that disconnects after any message and resumes from its id gets, over many marks and
   * pages, every row its filter admits exactly once.
   */
  @Test
  void resumingFromAnySentIdMissesNothingAndRepeatsNothing() {
    Predicate<Long> admitted = id -> id % 3 != 0; // the filter: a third of the events excluded
    long[] marks = {0, 7, 7, 31, 32, 80};
    int page = 4;
    for (int cut = 0; cut < 40; cut++) {
      List<Long> received = new ArrayList<>();
      StreamPosition at = pos(0, 0);
      int sent = 0;
      boolean resumed = false;
      for (long m : marks) {
        StreamPosition mark = pos(m, m / 2);
        while (!at.reached(mark)) {
          StreamPosition from = at;
          List<Event> events =
              LongStream.rangeClosed(from.events() + 1, mark.events())
                  .filter(admitted::test)
                  .limit(page + 1)
                  .mapToObj(StreamStepTest::event)
                  .toList();
          List<AlarmChange> changes =
              LongStream.rangeClosed(from.alarms() + 1, mark.alarms())
                  .limit(page + 1)
                  .mapToObj(StreamStepTest::change)
                  .toList();
          var r =
              StreamStep.step(
                  from,
                  mark,
                  events.subList(0, Math.min(page, events.size())),
                  events.size() > page,
                  changes.subList(0, Math.min(page, changes.size())),
                  changes.size() > page);
          at = r.next();
          for (StreamStep.Message msg : r.messages()) {
            received.add(
                msg.name().equals("event")
                    ? ((Event) msg.data()).id()
                    : -((AlarmChange) msg.data()).activityId());
            if (++sent == cut && !resumed) {
              // The connection drops after this message: the client comes back with its id.
              at = StreamPosition.parse(msg.id());
              resumed = true;
              break;
            }
          }
        }
      }
      long last = marks[marks.length - 1];
      TreeSet<Long> expected = new TreeSet<>();
      LongStream.rangeClosed(1, last).filter(admitted::test).forEach(expected::add);
      LongStream.rangeClosed(1, last / 2).forEach(a -> expected.add(-a));
      assertThat(received).as("cut after message %d", cut).doesNotHaveDuplicates();
      assertThat(new TreeSet<>(received)).as("cut after message %d", cut).isEqualTo(expected);
    }
  }

  @Test
  void anIdIsWrittenAndReadBack() {
    assertThat(pos(1520, 37).id()).isEqualTo("1520.37");
    assertThat(StreamPosition.parse("1520.37")).isEqualTo(pos(1520, 37));
    assertThat(StreamPosition.parse("0.0")).isEqualTo(pos(0, 0));
    assertThat(StreamPosition.parse(null)).isNull();
    assertThat(StreamPosition.parse("")).isNull();
  }

  @Test
  void anIdTheStreamCannotHaveSentIsRefused() {
    for (String bad :
        List.of("12", "1.2.3", "-1.2", "01.2", "a.b", "1. 2", "99999999999999999999.1")) {
      assertThatThrownBy(() -> StreamPosition.parse(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              ApiException.class,
              e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.code()).isEqualTo("invalid_last_event_id");
              });
    }
  }
}
