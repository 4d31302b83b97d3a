package io.vigil.server.management;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.cluster.Fence;
import io.vigil.server.http.PreparedJson;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.HandleCallback;
import org.junit.jupiter.api.Test;

class ReadCacheTest {

  /** A fence whose writes only move its count. */
  static class CountingFence implements Fence {
    final AtomicLong changes = new AtomicLong();

    @Override
    public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
      changes.incrementAndGet();
      return null;
    }

    @Override
    public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
      return null;
    }

    @Override
    public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
      return null;
    }

    @Override
    public long changes() {
      return changes.get();
    }
  }

  final CountingFence fence = new CountingFence();
  final ReadCache cache = new ReadCache(fence);
  final AtomicInteger reads = new AtomicInteger();

  Object read() {
    return Map.of("items", List.of("rec-" + reads.incrementAndGet()));
  }

  @Test
  void anAnswerIsReadOnceAndSentAgainWhileNothingIsWritten() {
    PreparedJson first = cache.get("servers", this::read);
    PreparedJson second = cache.get("servers", this::read);
    assertThat(reads).hasValue(1);
    assertThat(second).isSameAs(first);
    assertThat(first.etag()).matches("\"[A-Za-z0-9_-]{22}\"");
  }

  @Test
  void theNextGetAfterAWriteReadsAgainAndHasAnotherEtag() {
    PreparedJson before = cache.get("servers", this::read);
    fence.run(h -> {});
    PreparedJson after = cache.get("servers", this::read);
    assertThat(reads).hasValue(2);
    assertThat(after.etag()).isNotEqualTo(before.etag());
    assertThat(cache.get("servers", this::read)).isSameAs(after);
  }

  @Test
  void aReadThatAWriteEndedDuringIsNotKept() {
    cache.get(
        "servers",
        () -> {
          fence.run(h -> {});
          return read();
        });
    cache.get("servers", this::read);
    assertThat(reads).as("the raced read was not kept").hasValue(2);
  }

  @Test
  void eachKeyIsReadOnItsOwn() {
    cache.get("servers 100 null", this::read);
    cache.get("servers 1 null", this::read);
    assertThat(reads).hasValue(2);
    cache.get("servers 100 null", this::read);
    assertThat(reads).hasValue(2);
  }

  @Test
  void aReadThatFailsKeepsNothing() {
    assertThatThrownBy(
            () ->
                cache.get(
                    "servers",
                    () -> {
                      throw new IllegalStateException("no database");
                    }))
        .isInstanceOf(IllegalStateException.class);
    cache.get("servers", this::read);
    assertThat(reads).hasValue(1);
  }

  @Test
  void aFenceThatCountsNothingKeepsNothing() {
    ReadCache uncounted =
        new ReadCache(
            new CountingFence() {
              @Override
              public long changes() {
                return -1;
              }
            });
    uncounted.get("servers", this::read);
    uncounted.get("servers", this::read);
    assertThat(reads).hasValue(2);
  }
}
