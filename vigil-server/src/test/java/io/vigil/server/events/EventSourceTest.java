package io.vigil.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.http.ApiException;
import org.junit.jupiter.api.Test;

class EventSourceTest {

  @Test
  void aNodeIsASourceForQueriesAndDefinitions() {
    EventSource node = EventSource.parse("source", "node:vigil-1");
    assertThat(node.text()).isEqualTo("node:vigil-1");
    assertThat(node.objectId()).isNull();
  }

  @Test
  void aPostedEventMayNotNameANodeButMayNameOtherSources() {
    assertThatThrownBy(() -> EventSource.posted("source", "node:vigil-1"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("reserved_source"));
    assertThat(EventSource.posted("source", "external:door-1").text()).isEqualTo("external:door-1");
  }

  @Test
  void aNodeSourceNeedsAName() {
    assertThatThrownBy(() -> EventSource.parse("source", "node:"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_source"));
  }
}
