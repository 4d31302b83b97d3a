package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vigil.server.cluster.Fence;
import io.vigil.server.cluster.ResourcePolicy;
import io.vigil.server.config.Settings;
import io.vigil.server.db.Database;
import io.vigil.server.identity.IdentityProvider;
import io.vigil.server.testing.TestDatabases;
import io.vigil.server.testing.TestProtector;
import java.io.OutputStream;
import java.io.PrintStream;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class IdentityProviderResourceTest {

  private final Database db = TestDatabases.h2();

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void whileItRunsExpiredGrantsArePurgedAndOnceStoppedNoLonger() throws Exception {
    Settings settings = new Settings();
    settings.node.advertisedUrl = "http://vigil.test:8080";
    IdentityProvider idp =
        new IdentityProvider(
            settings,
            db.jdbi(),
            Fence.unfenced(db.jdbi()),
            new TestProtector(),
            Clock.systemUTC(),
            "resource-test-admin-password",
            1_000,
            new PrintStream(OutputStream.nullOutputStream()));
    var resource =
        new BuiltinResources.IdentityProviderResource(
            ResourcePolicy.DEFAULT, idp, Duration.ZERO, Duration.ofMillis(20));
    expiredCode("before");

    resource.start(1);
    await().atMost(Duration.ofSeconds(10)).until(() -> codes() == 0);
    resource.stop();
    expiredCode("after");

    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> codes() == 1);
    assertThat(resource.check()).isNull();
  }

  private void expiredCode(String hash) {
    db.jdbi()
        .useHandle(
            h ->
                h.createUpdate(
                        "INSERT INTO authorization_codes (code_hash, client_id, user_id,"
                            + " redirect_uri, code_challenge, scope, expires_at) VALUES (:hash,"
                            + " 'console', :user, 'http://127.0.0.1/cb', 'x', 'openid', :expires)")
                    .bind("hash", hash)
                    .bind("user", UUID.randomUUID())
                    .bind("expires", Timestamp.from(db.now().minus(Duration.ofDays(1))))
                    .execute());
  }

  private long codes() {
    return db.jdbi()
        .withHandle(
            h -> h.createQuery("SELECT COUNT(*) FROM authorization_codes").mapTo(Long.class).one());
  }
}
