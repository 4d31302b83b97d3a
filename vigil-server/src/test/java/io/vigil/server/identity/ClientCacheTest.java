package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.security.Principal;
import io.vigil.server.security.Role;
import io.vigil.server.testing.MutableClock;
import io.vigil.server.testing.TestProtector;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.HandleCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ClientService serves client authentication from its cache, and every way a client can change
 * makes the next authentication see the change.
 */
class ClientCacheTest {

  private static final Principal ADMIN =
      new Principal("admin", "admin", "admin", Set.of(Role.ADMINISTRATOR), Set.of("vigil.api"));

  private final Database db = IdpFixture.memoryDatabase();
  private final CountingFence fence = new CountingFence(Fence.unfenced(db.jdbi()));
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final ClientService clients = new ClientService(fence, new TestProtector(), clock);

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void aClientAuthenticatedOnceIsAuthenticatedAgainWithoutADatabaseRead() {
    String secret = clients.create(ADMIN, "recorder-1", List.of("component")).clientSecret();
    assertThat(clients.authenticate("recorder-1", secret)).isPresent();
    int reads = fence.reads.get();

    assertThat(clients.authenticate("recorder-1", secret))
        .hasValueSatisfying(c -> assertThat(c.roles()).containsExactly("component"));
    assertThat(clients.authenticate("recorder-1", "wrong")).isEmpty();
    assertThat(fence.reads.get()).isEqualTo(reads);
  }

  @Test
  void aRotatedSecretIsRefusedFromTheNextRequestOn() {
    String old = clients.create(ADMIN, "recorder-1", List.of("component")).clientSecret();
    assertThat(clients.authenticate("recorder-1", old)).isPresent();

    String next = clients.rotateSecret(ADMIN, "recorder-1").clientSecret();

    assertThat(clients.authenticate("recorder-1", old)).isEmpty();
    assertThat(clients.authenticate("recorder-1", next)).isPresent();
  }

  @Test
  void aDeletedClientIsRefusedFromTheNextRequestOn() {
    String secret = clients.create(ADMIN, "recorder-1", List.of("component")).clientSecret();
    assertThat(clients.authenticate("recorder-1", secret)).isPresent();

    clients.delete(ADMIN, "recorder-1");

    assertThat(clients.authenticate("recorder-1", secret)).isEmpty();
  }

  @Test
  void aSecretRotatedInsideAnEnclosingTransactionIsRefusedOnceItCommits() {
    String old = fence.write(h -> clients.createComponent(h, ADMIN, "recorder-1")).clientSecret();
    assertThat(clients.authenticate("recorder-1", old)).isPresent();

    String next =
        fence.write(
            h -> {
              String rotated =
                  clients
                      .rotateComponentSecret(h, ADMIN, "recorder-1")
                      .orElseThrow()
                      .clientSecret();
              // Another request meanwhile still sees the committed row, and caches it.
              assertThat(
                      CompletableFuture.supplyAsync(() -> clients.authenticate("recorder-1", old))
                          .join())
                  .isPresent();
              return rotated;
            });

    assertThat(clients.authenticate("recorder-1", old)).isEmpty();
    assertThat(clients.authenticate("recorder-1", next)).isPresent();
  }

  @Test
  void aCachedClientIsReadAgainAfterAMinute() {
    String old = clients.create(ADMIN, "recorder-1", List.of("component")).clientSecret();
    assertThat(clients.authenticate("recorder-1", old)).isPresent();
    setSecretHashBehindTheCache("recorder-1", Secrets.sha256(Secrets.random256()));
    assertThat(clients.authenticate("recorder-1", old)).isPresent();

    clock.advance(ClientService.CACHE_FOR);

    assertThat(clients.authenticate("recorder-1", old)).isEmpty();
  }

  @Test
  void anUnknownClientIsNotCachedAndIsFoundOnceCreated() {
    assertThat(clients.authenticate("recorder-1", "anything")).isEmpty();
    int reads = fence.reads.get();
    assertThat(clients.authenticate("recorder-1", "anything")).isEmpty();
    assertThat(fence.reads.get()).isEqualTo(reads + 1);

    String secret = clients.create(ADMIN, "recorder-1", List.of("component")).clientSecret();

    assertThat(clients.authenticate("recorder-1", secret)).isPresent();
  }

  @Test
  void publicClientsAreNeverAuthenticatedWithASecret() {
    db.jdbi().useTransaction(h -> clients.ensureBuiltIns(h, List.of(), "http://127.0.0.1:1/idp"));
    assertThat(clients.authenticate(ClientService.CLI, "")).isEmpty();
    assertThat(clients.authenticate(ClientService.CLI, "anything")).isEmpty();
  }

  private void setSecretHashBehindTheCache(String clientId, String hash) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate("UPDATE oauth_clients SET secret_hash = :hash WHERE client_id = :id")
                    .bind("hash", hash)
                    .bind("id", clientId)
                    .execute());
  }

  /** Counts the reads that reach the database. */
  private static final class CountingFence implements Fence {
    final AtomicInteger reads = new AtomicInteger();
    private final Fence inner;

    CountingFence(Fence inner) {
      this.inner = inner;
    }

    @Override
    public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
      return inner.write(work);
    }

    @Override
    public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
      reads.incrementAndGet();
      return inner.read(work);
    }

    @Override
    public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
      return inner.readSettled(work);
    }
  }
}
