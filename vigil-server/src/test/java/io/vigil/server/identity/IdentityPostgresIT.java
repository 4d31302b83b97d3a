package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Database;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** The identity provider's SQL on PostgreSQL, where a cluster keeps it. */
class IdentityPostgresIT {

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
      assertThat(f.form("/idp/connect/token", refreshForm, null).statusCode()).isEqualTo(200);
      assertThat(f.form("/idp/connect/token", refreshForm, null).statusCode()).isEqualTo(400);

      f.clock.advance(Duration.ofDays(31));
      assertThat(read(f.get("/idp/.well-known/jwks.json", null)).get("keys")).hasSize(2);
      assertThat(f.get("/api/v1/users", f.adminToken()).statusCode()).isEqualTo(200);
    }
  }
}
