package io.vigil.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

  private final List<SseParser.Message> got = new ArrayList<>();
  private final SseParser parser = new SseParser(got::add);

  private void lines(String... lines) {
    for (String l : lines) {
      parser.line(l);
    }
  }

  @Test
  void aBlankLineDispatchesTheFieldsBeforeIt() {
    lines("event: event", "id: 12.3", "data: {\"id\":12}", "");
    assertThat(got).containsExactly(new SseParser.Message("event", "12.3", "{\"id\":12}"));
  }

  @Test
  void commentsAndUnknownFieldsAreIgnoredAndDataLinesAreJoined() {
    lines(": keepalive", "", "retry: 100", "data: a", "data:b", "");
    assertThat(got).containsExactly(new SseParser.Message("message", null, "a\nb"));
  }

  @Test
  void fieldsDoNotLeakIntoTheNextMessage() {
    lines("event: alarm", "id: 1.1", "data: x", "", "data: y", "");
    assertThat(got)
        .containsExactly(
            new SseParser.Message("alarm", "1.1", "x"),
            new SseParser.Message("message", null, "y"));
  }

  @Test
  void aMessageWithoutDataIsNotDispatched() {
    lines("event: event", "id: 5.0", "");
    assertThat(got).isEmpty();
  }
}
