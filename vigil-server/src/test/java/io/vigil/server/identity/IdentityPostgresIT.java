package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.Fence;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.testing.TestProtector;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jdbi.v3.core.HandleCallback;
import org.junit.jupiter.api.Test;

/** The identity provider's SQL on PostgreSQL, where a cluster keeps it. */
class IdentityPostgresIT {

  /**
   * The epoch fence sets {@code idle_in_transaction_session_timeout} so that a paused owner cannot
   * hold its share lock; a first start that hashed the admin password (600,000 PBKDF2 iterations)
   * or generated the signing key inside that transaction was killed by it on a busy machine, and
   * the role came up without its built-in clients ("Client vigil-cli is unknown").
   */
  @Test
  void firstStartDoesItsSlowWorkOutsideTheFencedTransaction() throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.start();
        Database db = Database.open(pg.getJdbcUrl("postgres", "postgres"), "postgres", null, 4)) {
      Fence strict =
          new Fence() {
            @Override
            public <R, X extends Exception> R write(HandleCallback<R, X> work) throws X {
              return db.jdbi()
                  .inTransaction(
                      h -> {
                        h.execute("SET LOCAL idle_in_transaction_session_timeout = '200ms'");
                        return work.withHandle(h);
                      });
            }

            @Override
            public <R, X extends Exception> R read(HandleCallback<R, X> work) throws X {
              return db.jdbi().withHandle(work);
            }

            @Override
            public <R, X extends Exception> R readSettled(HandleCallback<R, X> work) throws X {
              return db.jdbi().inTransaction(work);
            }
          };
      Settings settings = new Settings();
      settings.node.advertisedUrl = "http://vigil.test:8080";
      // Enough iterations that one hash takes well over the 200 ms the transaction may idle.
      IdentityProvider idp =
          new IdentityProvider(
              settings,
              db.jdbi(),
              strict,
              new TestProtector(),
              Clock.systemUTC(),
              ADMIN_PASSWORD,
              1_500_000,
              new PrintStream(OutputStream.nullOutputStream()));

      idp.start();

      long clients =
          db.jdbi()
              .withHandle(
                  h -> h.createQuery("SELECT COUNT(*) FROM oauth_clients").mapTo(Long.class).one());
      assertThat(clients).isEqualTo(2);
      assertThat(idp.check()).isNull();
    }
  }

  @Test
  void grantsRotationAndConcurrentStartWorkOnPostgres() throws Exception {
    try (EmbeddedPostgres pg = EmbeddedPostgres.start();
        IdpFixture f =
            new IdpFixture(
                ADMIN_PASSWORD,
                Database.open(pg.getJdbcUrl("postgres", "postgres"), "postgres", null, 6))) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Callable<Void> start =
            () -> {
              f.newProvider(null).start();
              return null;
            };
        for (var result : pool.invokeAll(List.of(start, start))) {
          result.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(f.count("identity_signing_keys")).isEqualTo(1);
      assertThat(f.count("users")).isEqualTo(1);

      String admin = f.adminToken();
      HttpResponse<String> created =
          f.json(
              "POST",
              "/api/v1/users",
              admin,
              "{\"username\":\"olga\",\"password\":\"a long enough secret\",\"roles\":[\"operator\"]}",
              Map.of());
      assertThat(created.statusCode()).isEqualTo(201);
      assertThat(
              f.json(
                      "POST",
                      "/api/v1/users",
                      admin,
                      "{\"username\":\"Olga\",\"password\":\"a long enough secret\",\"roles\":[]}",
                      Map.of())
                  .statusCode())
          .isEqualTo(409);
      String id = read(created).get("id").asText();
      assertThat(
              f.json(
                      "PATCH",
                      "/api/v1/users/" + id,
                      admin,
                      "{\"enabled\":false}",
                      Map.of("If-Match", "\"1\""))
                  .statusCode())
          .isEqualTo(200);

      String refresh =
          read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
      Map<String, String> refreshForm =
          Map.of("grant_type", "refresh_token", "client_id", "vigil-cli", "refresh_token", refresh);
      var first = f.form("/idp/connect/token", refreshForm, null);
      assertThat(first.statusCode()).isEqualTo(200);
      // A retry within the reuse grace (a lost response) is served; once the successor is used,
      // a reuse revokes the family.
      var retry = f.form("/idp/connect/token", refreshForm, null);
      assertThat(retry.statusCode()).isEqualTo(200);
      String successor = read(retry).get("refresh_token").asText();
      assertThat(
              f.form(
                      "/idp/connect/token",
                      Map.of(
                          "grant_type", "refresh_token",
                          "client_id", "vigil-cli",
                          "refresh_token", successor),
                      null)
                  .statusCode())
          .isEqualTo(200);
      assertThat(f.form("/idp/connect/token", refreshForm, null).statusCode()).isEqualTo(400);

      f.clock.advance(Duration.ofDays(31));
      assertThat(read(f.get("/idp/.well-known/jwks.json", null)).get("keys")).hasSize(2);
      assertThat(f.get("/api/v1/users", f.adminToken()).statusCode()).isEqualTo(200);
    }
  }
}
