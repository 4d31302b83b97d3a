package io.vigil.server.management;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The in-memory signal that wakes configuration long polls. */
class ConfigurationSignalTest {

  private final ConfigurationSignal signal = new ConfigurationSignal();
  private final UUID a = UUID.randomUUID();
  private final UUID b = UUID.randomUUID();

  @Test
  void aChangeWakesEveryPollWaitingForThatServerAndNoOther() {
    CompletableFuture<Boolean> first = signal.await(a, Duration.ofMinutes(1));
    CompletableFuture<Boolean> second = signal.await(a, Duration.ofMinutes(1));
    CompletableFuture<Boolean> other = signal.await(b, Duration.ofMinutes(1));
    assertThat(signal.waiting()).isEqualTo(3);

    signal.changed(a);

    assertThat(first).isCompletedWithValue(true);
    assertThat(second).isCompletedWithValue(true);
    assertThat(other).isNotDone();
    assertThat(signal.waiting()).as("woken polls are forgotten").isEqualTo(1);
    other.complete(false);
    assertThat(signal.waiting()).isZero();
  }

  @Test
  void aChangeBeforeAPollRegistersDoesNotWakeIt() {
    signal.changed(a);
    CompletableFuture<Boolean> later = signal.await(a, Duration.ofMinutes(1));
    assertThat(later).isNotDone();
    later.complete(false);
  }

  @Test
  void aWaitEndsWithFalseAndIsForgotten() throws Exception {
    CompletableFuture<Boolean> poll = signal.await(a, Duration.ZERO);
    assertThat(poll.get(10, TimeUnit.SECONDS)).isFalse();
    assertThat(signal.waiting()).isZero();
  }

  @Test
  void aChangeOfNoServerWakesNothing() {
    CompletableFuture<Boolean> poll = signal.await(a, Duration.ofMinutes(1));
    signal.changed(null);
    assertThat(poll).isNotDone();
    poll.complete(false);
  }

  @Test
  void aRememberedEtagIsKnownUntilAChangeOfItsServerIsSignalled() {
    signal.remember(a, signal.generation(a), "\"c-1\"");
    signal.remember(b, signal.generation(b), "\"c-2\"");
    assertThat(signal.knownEtag(a)).isEqualTo("\"c-1\"");

    signal.changed(a);

    assertThat(signal.knownEtag(a)).isNull();
    assertThat(signal.knownEtag(b)).isEqualTo("\"c-2\"");
  }

  @Test
  void aReadThatBeganBeforeAChangeIsNotRemembered() {
    long before = signal.generation(a);
    signal.changed(a);

    signal.remember(a, before, "\"c-old\"");

    assertThat(signal.knownEtag(a)).as("the read may have missed the change").isNull();
    signal.remember(a, signal.generation(a), "\"c-new\"");
    assertThat(signal.knownEtag(a)).isEqualTo("\"c-new\"");
  }

  @Test
  void takingTheRoleForgetsEveryRememberedEtag() {
    signal.remember(a, signal.generation(a), "\"c-1\"");

    signal.forget();

    assertThat(signal.knownEtag(a)).isNull();
  }
}
