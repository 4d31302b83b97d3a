package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.cluster.Fence;
import io.vigil.server.db.Database;
import io.vigil.server.events.EventStore;
import io.vigil.server.testing.TestDatabases;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CertificateWatchTest {

  static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

  Database db;

  @BeforeEach
  void open() {
    db = TestDatabases.h2();
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void aCertificateIsToBeRenewedWithinThirtyDaysOfItsEnd() {
    assertThat(CertificateWatch.expiring(NOW.plus(Duration.ofDays(31)), NOW)).isFalse();
    assertThat(CertificateWatch.expiring(NOW.plus(Duration.ofDays(29)), NOW)).isTrue();
    assertThat(CertificateWatch.expiring(NOW.minus(Duration.ofDays(1)), NOW)).isTrue();
  }

  Instant databaseNow() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT CURRENT_TIMESTAMP").mapTo(Timestamp.class).one().toInstant());
  }

  List<Map<String, Object>> stored() {
    return db.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT source, severity, data_json FROM events WHERE type ="
                            + " 'certificate.expiring'")
                    .mapToMap()
                    .list());
  }

  CertificateWatch watch(Optional<Instant> notAfter) {
    return new CertificateWatch(
        Fence.unfenced(db.jdbi()), EventStore.siteEvents(), "vigil-1", () -> notAfter);
  }

  @Test
  void aCertificateExpiringSoonByTheDatabasesClockRaisesAnEventAboutTheNode() {
    Instant soon = databaseNow().plus(Duration.ofDays(10));
    assertThat(watch(Optional.of(soon)).check()).isTrue();
    List<Map<String, Object>> events = stored();
    assertThat(events).hasSize(1);
    assertThat(events.get(0).get("source")).isEqualTo("node:vigil-1");
    assertThat(events.get(0).get("severity")).isEqualTo("warning");
    assertThat(events.get(0).get("data_json").toString()).contains("\"node\":\"vigil-1\"");
  }

  @Test
  void anExpiredCertificateIsCritical() {
    assertThat(watch(Optional.of(databaseNow().minus(Duration.ofDays(1)))).check()).isTrue();
    assertThat(stored().get(0).get("severity")).isEqualTo("critical");
  }

  @Test
  void aCertificateFarFromItsEndOrNoHttpsRaisesNothing() {
    assertThat(watch(Optional.of(databaseNow().plus(Duration.ofDays(90)))).check()).isFalse();
    assertThat(watch(Optional.empty()).check()).isFalse();
    assertThat(stored()).isEmpty();
  }
}
