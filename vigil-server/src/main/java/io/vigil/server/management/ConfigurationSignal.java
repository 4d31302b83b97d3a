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
 * <p>It also remembers the ETag this node last read for each server ({@link #remember}, {@link
 * #knownEtag}), so that a poll whose {@code If-None-Match} is still current costs no query at all,
 * neither when it arrives nor when its wait ends: with a thousand components each polling, these
 * reads were most of the owner's statements. A remembered ETag is valid only while no change was
 * signalled for its server since the read began (a generation per server, bumped by {@link
 * #changed}), so a read that raced a change is never trusted.
 *
 * <p>In memory on the node that serves the API. Every write goes through the active node, so it
 * sees every change; after a failover the new owner starts with no waiters, and each component's
 * poll reaches it as a new request. A node that takes the role (again) forgets every ETag ({@link
 * #forget}): another owner may have changed servers meanwhile.
 */
public final class ConfigurationSignal {

  private final ConcurrentHashMap<UUID, Set<CompletableFuture<Boolean>>> waiters =
      new ConcurrentHashMap<>();

  /** An ETag read when the server's generation was {@code generation}. */
  private record Known(long generation, String etag) {}

  private final ConcurrentHashMap<UUID, Long> generations = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<UUID, Known> etags = new ConcurrentHashMap<>();

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

  /**
   * Wakes every poll waiting for {@code serverId} and voids its remembered ETag; null does nothing.
   */
  public void changed(UUID serverId) {
    if (serverId == null) {
      return;
    }
    generations.merge(serverId, 1L, Long::sum);
    etags.remove(serverId);
    Set<CompletableFuture<Boolean>> set = waiters.get(serverId);
    if (set != null) {
      for (CompletableFuture<Boolean> f : set) {
        f.complete(true);
      }
    }
  }

  /** The server's generation: take it before reading the configuration, for {@link #remember}. */
  public long generation(UUID serverId) {
    return generations.getOrDefault(serverId, 0L);
  }

  /**
   * Remembers the ETag of a configuration read that began at {@code generation}; a change signalled
   * since makes it worthless, and it is not kept.
   */
  public void remember(UUID serverId, long generation, String etag) {
    etags.put(serverId, new Known(generation, etag));
    if (generation(serverId) != generation) {
      etags.remove(serverId, new Known(generation, etag));
    }
  }

  /** The server's ETag as this node last read it with no change since, or null. */
  public String knownEtag(UUID serverId) {
    Known k = etags.get(serverId);
    return k != null && k.generation() == generation(serverId) ? k.etag() : null;
  }

  /** Forgets every remembered ETag: this node takes the role, after others may have owned it. */
  public void forget() {
    etags.clear();
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
