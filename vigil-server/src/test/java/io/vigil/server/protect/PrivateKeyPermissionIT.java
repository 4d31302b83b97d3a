package io.vigil.server.protect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's "missing permissions to certificate private keys", for real: a node running as an
 * unprivileged account whose data protection certificate's key file belongs to another account.
 * (The tests run as root, which reads any file, so the node is started through {@code setpriv}.)
 */
class PrivateKeyPermissionIT {

  private static final int NOBODY = 65534;

  @TempDir Path dir;

  @Test
  void aKeyTheServiceAccountCannotReadKeepsTheNodeUpNotReadyWithKeysetDoesNotExist()
      throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "needs root to start the node as another account");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path home = Files.createDirectory(dir.resolve("service"));
    Path data = Files.createDirectory(home.resolve("data"));
    TestCertificates.Issued cert =
        TestCertificates.builder("vigil-unreadable-key")
            .validUntil(Instant.now().plus(java.time.Duration.ofDays(365)))
            .build();
    FileCertificateStore store = new FileCertificateStore(FileCertificateStore.defaultRoot(data));
    TestCertificates.writePem(store.personal(), "dp", cert);
    TestCertificates.writeTrusted(
        store.trusted(), Thumbprint.of(cert.certificate()).hex(), cert.certificate());
    Path key = store.personal().resolve("dp.key");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(
        data.resolve("appsettings.json"),
        """
        {"DataProtectionSettings": {"ProtectKeysWithCertificate": {"Thumbprint": "%s"}}}
        """
            .formatted(cert.thumbprint()));
    // Everything but the key belongs to the service account; the key stays root's.
    try (var files = Files.walk(home)) {
      for (Path p : files.toList()) {
        if (!p.equals(key)) {
          Files.setAttribute(p, "unix:uid", NOBODY);
          Files.setAttribute(p, "unix:gid", NOBODY);
        }
      }
    }

    try (NodeProcess node =
        NodeProcess.create("start-dev", data, Map.of("HOME", home.toString()))
            .runAs(NOBODY, NOBODY)
            .start()
            .awaitLive(Duration.ofSeconds(90))) {
      TestHttp.Response ready =
          new TestHttp(node.url(), Duration.ofSeconds(2)).get("/health/ready", null);
      assertThat(ready.status()).isEqualTo(503);
      assertThat(ready.json().get("reason").asText()).startsWith("Keyset does not exist");
      assertThat(node.logText())
          .containsOnlyOnce("Keyset does not exist")
          .contains(cert.thumbprint().hex())
          .contains("CN=vigil-unreadable-key")
          .contains("has no permission to read " + key)
          .contains("chmod 600");
      assertThat(node.isAlive()).isTrue();
    }
  }
}
