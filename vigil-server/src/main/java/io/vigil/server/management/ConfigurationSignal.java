package io.vigil.server.management;

import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Wakes the long polls of {@code GET /api/v1/servers/{id}/configuration?wait=} when a server's
 * configuration changes, so that a waiting component costs no database query until something
 * happened: the writes that change a server, its hardware or its cameras call {@link #changed} once
 * their transaction committed, and every poll waiting for that server then reads the database once.
 *
 * <p>In memory on the node that serves the API. Every write goes through the active node, so it
 * sees every change; after a failover the new owner starts with no waiters, and each component's
 * poll reaches it as a new request. A change this node could miss (none is known) would still be
 * seen by the read each poll makes when its wait ends.
 */
public final class ConfigurationSignal {

  private final ConcurrentHashMap<UUID, Set<CompletableFuture<Boolean>>> waiters =
      new ConcurrentHashMap<>();

  /**
   * A future that completes with {@code true} at the next {@link #changed} of {@code serverId}, or
   * with {@code false} after {@code wait}. Register before reading the configuration, so that a
   * change committed between the read and the wait is not missed.
   */
  public CompletableFuture<Boolean> await(UUID serverId, Duration wait) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    waiters.compute(
        serverId,
        (k, set) -> {
          Set<CompletableFuture<Boolean>> s = set == null ? ConcurrentHashMap.newKeySet() : set;
          s.add(f);
          return s;
        });
    var unused =
        f.completeOnTimeout(false, Math.max(0, wait.toMillis()), TimeUnit.MILLISECONDS)
            .whenComplete((v, e) -> remove(serverId, f));
    return f;
  }

  /** Wakes every poll waiting for {@code serverId}; null does nothing. */
  public void changed(UUID serverId) {
    if (serverId == null) {
      return;
    }
    Set<CompletableFuture<Boolean>> set = waiters.get(serverId);
    if (set != null) {
      for (CompletableFuture<Boolean> f : set) {
        f.complete(true);
      }
    }
  }

  /** How many polls are waiting, over all servers. */
  public int waiting() {
    return waiters.values().stream().mapToInt(Set::size).sum();
  }

  // The set holds each waiter's own future: identity is the equality wanted.
  @SuppressWarnings("UndefinedEquals")
  private void remove(UUID serverId, CompletableFuture<Boolean> f) {
    waiters.computeIfPresent(
        serverId,
        (k, set) -> {
          set.remove(f);
          return set.isEmpty() ? null : set;
        });
  }
}
