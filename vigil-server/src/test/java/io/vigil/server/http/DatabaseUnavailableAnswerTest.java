package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.http.HandlerType;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.db.DatabaseUnavailable;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.HashMap;
import java.util.List;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/**
 * A request that fails because the database is away answers 503 {@code database_unavailable} with
 * {@code Retry-After}, not a 500 with a stack trace in the log: a client can only retry.
 */
class DatabaseUnavailableAnswerTest {

  @TempDir Path dataDir;
  private HttpServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aLostDatabaseConnectionAnswers503WithACodeAndRetryAfter() throws Exception {
    start(
        new ConnectionException(
            new PSQLException("An I/O error occurred", PSQLState.CONNECTION_FAILURE)));
    HttpResponse<String> r = get();
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(r.body()).contains("\"code\":\"database_unavailable\"").doesNotContain("PSQL");
  }

  @Test
  void aFailureThatIsNotTheDatabasesStaysAnInternalError() throws Exception {
    start(new IllegalStateException("a bug"));
    HttpResponse<String> r = get();
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(r.body()).contains("\"code\":\"internal_error\"").doesNotContain("a bug");
  }

  @Test
  void unavailabilityIsToldFromOtherDatabaseFailuresByTheirCause() {
    assertThat(DatabaseUnavailable.causedBy(new SQLTransientConnectionException("pool timeout")))
        .isTrue();
    assertThat(
            DatabaseUnavailable.causedBy(
                new UnableToExecuteStatementException(
                    new PSQLException("canceling statement", PSQLState.QUERY_CANCELED), null)))
        .isTrue();
    assertThat(
            DatabaseUnavailable.causedBy(
                new UnableToExecuteStatementException(
                    new SQLException("shutting down", "57P01"), null)))
        .isTrue();
    assertThat(
            DatabaseUnavailable.causedBy(
                new UnableToExecuteStatementException(
                    new PSQLException("duplicate key", PSQLState.UNIQUE_VIOLATION), null)))
        .isFalse();
    assertThat(DatabaseUnavailable.causedBy(new IllegalStateException("a bug"))).isFalse();
  }

  private void start(RuntimeException failure) {
    server =
        HttpServer.start(
            SettingsLoader.load(
                dataDir, new HashMap<>(), new SettingsLoader.Overrides(dataDir, 0, "127.0.0.1")),
            token -> {
              throw ApiException.unauthorized("no tokens in this test");
            },
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            () -> true,
            List.of(
                api ->
                    api.open(
                        HandlerType.GET,
                        "/fails",
                        ctx -> {
                          throw failure;
                        })));
  }

  private HttpResponse<String> get() throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/fails"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }
}
