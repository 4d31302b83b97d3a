package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.db.Database;
import io.vigil.server.testing.MutableClock;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key ring's SQL, types and locking against a real PostgreSQL. */
class KeyRingPostgresIT {

  private static final byte[] SECRET = "pg-secret".getBytes(StandardCharsets.UTF_8);

  private static EmbeddedPostgres postgres;
  private static Database db;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    postgres = EmbeddedPostgres.start();
    db = Database.open(postgres.getJdbcUrl("postgres", "postgres"), "postgres", null, 4);
  }

  @AfterAll
  static void stop() throws Exception {
    if (db != null) {
      db.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void concurrentCreationRotationAndRestartWorkOnPostgres() throws Exception {
    MachineProtector machine = MachineProtector.open(dir.resolve("machine.key"));
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    KeyRing a = new KeyRing(db.jdbi(), machine, List.of(), Duration.ofDays(90), clock);
    KeyRing b = new KeyRing(db.jdbi(), machine, List.of(), Duration.ofDays(90), clock);

    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    byte[] fromA;
    byte[] fromB;
    try {
      Future<byte[]> fa =
          pool.submit(
              () -> {
                go.await();
                return a.protect("p", SECRET);
              });
      Future<byte[]> fb =
          pool.submit(
              () -> {
                go.await();
                return b.protect("p", SECRET);
              });
      go.countDown();
      fromA = fa.get();
      fromB = fb.get();
    } finally {
      pool.shutdownNow();
    }
    assertThat(b.unprotect("p", fromA)).isEqualTo(SECRET);
    assertThat(a.unprotect("p", fromB)).isEqualTo(SECRET);
    assertThat(a.keys())
        .singleElement()
        .satisfies(
            k -> {
              assertThat(k.createdAt()).isEqualTo(clock.instant());
              assertThat(k.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofDays(90)));
            });

    clock.advance(Duration.ofDays(91));
    byte[] fresh = a.protect("p", SECRET);
    assertThat(KeyRingTest.keyIdOf(fresh)).isNotEqualTo(KeyRingTest.keyIdOf(fromA));
    KeyRing restarted = new KeyRing(db.jdbi(), machine, List.of(), Duration.ofDays(90), clock);
    assertThat(restarted.unprotect("p", fromA)).isEqualTo(SECRET);
    assertThat(restarted.unprotect("p", fresh)).isEqualTo(SECRET);
    assertThat(restarted.keys()).hasSize(2).allSatisfy(k -> assertThat(k.unwrapsHere()).isTrue());
  }
}
