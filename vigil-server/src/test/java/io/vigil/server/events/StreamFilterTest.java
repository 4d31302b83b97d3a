package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.http.ApiException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StreamFilterTest {

  @Test
  void withoutKindsTheStreamHasEverythingTheCallerMayRead() {
    assertThat(StreamFilter.of(null, List.of(), null, true))
        .isEqualTo(new StreamFilter(true, true, Set.of(), null));
    assertThat(StreamFilter.of(null, List.of(), null, false))
        .isEqualTo(new StreamFilter(true, false, Set.of(), null));
  }

  @Test
  void kindsChooseEventsAlarmsOrBoth() {
    assertThat(StreamFilter.of("alarms", List.of(), null, true))
        .isEqualTo(new StreamFilter(false, true, Set.of(), null));
    assertThat(StreamFilter.of("events, alarms", List.of(), null, true))
        .isEqualTo(new StreamFilter(true, true, Set.of(), null));
  }

  @Test
  void alarmChangesAskedForWithoutThePermissionAreForbidden() {
    assertThatThrownBy(() -> StreamFilter.of("events,alarms", List.of(), null, false))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(403));
  }

  @Test
  void typesComeFromRepeatedAndCommaSeparatedParameters() {
    StreamFilter f =
        StreamFilter.of(null, List.of("door.forced,door.closed", "server.offline"), null, true);
    assertThat(f.types()).containsExactlyInAnyOrder("door.forced", "door.closed", "server.offline");
  }

  @Test
  void aSourceIsCheckedAndWrittenAsStored() {
    assertThat(
            StreamFilter.of(null, List.of(), "6F9619FF-8B86-D011-B42D-00C04FC964FF", true).source())
        .isEqualTo("6f9619ff-8b86-d011-b42d-00c04fc964ff");
    assertThat(StreamFilter.of(null, List.of(), "external:door-1", true).source())
        .isEqualTo("external:door-1");
  }

  @Test
  void badFiltersAreRefusedWithTheirCode() {
    expect("invalid_kind", () -> StreamFilter.of("events,cameras", List.of(), null, true));
    expect("invalid_kind", () -> StreamFilter.of(",", List.of(), null, true));
    expect("invalid_event_type", () -> StreamFilter.of(null, List.of("Door Forced"), null, true));
    expect("invalid_source", () -> StreamFilter.of(null, List.of(), "door", true));
    StringBuilder many = new StringBuilder();
    for (int i = 0; i <= StreamFilter.MAX_TYPES; i++) {
      many.append(i == 0 ? "" : ",").append("t.n").append(i);
    }
    expect("too_many_types", () -> StreamFilter.of(null, List.of(many.toString()), null, true));
  }

  private static void expect(String code, Runnable r) {
    assertThatThrownBy(r::run)
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.code()).isEqualTo(code);
            });
  }
}
