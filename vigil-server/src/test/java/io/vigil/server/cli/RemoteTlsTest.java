package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.config.SettingsLoader;
import io.vigil.server.node.Node;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestCertificates.Issued;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The administrative commands verify an HTTPS node's certificate: against the runtime's trust store
 * plus {@code --cacert}, and for the host name in {@code --server}.
 */
class RemoteTlsTest {

  static final String ADMIN_PASSWORD = "correct-horse-battery";

  @TempDir static Path dir;

  static Issued selfSigned;
  static Node node;
  static Path caCert;

  @BeforeAll
  static void startHttpsNode() throws IOException {
    Path data = dir.resolve("data");
    // Self-signed, for "localhost" only: 127.0.0.1 is a name it does not list.
    selfSigned = TestCertificates.builder("vigil-node").dnsNames("localhost").build();
    TestCertificates.writePem(TestCertificates.personal(data), "https", selfSigned);
    var settings =
        SettingsLoader.load(
            data,
            Map.of(
                "VIGIL_ADMIN_PASSWORD", ADMIN_PASSWORD,
                "VIGIL_MACHINE_KEY_FILE", data.resolve("machine.key").toString(),
                "VIGIL_TLS_THUMBPRINT", selfSigned.thumbprint().toString()),
            new SettingsLoader.Overrides(data, 0, "127.0.0.1"));
    node = Node.start(settings);
    caCert = dir.resolve("node.pem");
    Files.writeString(caCert, selfSigned.certificatePem());
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.close();
    }
  }

  static Run vigil(String server, String... args) {
    return new Run().env("VIGIL_SERVER", server).env("VIGIL_PASSWORD", ADMIN_PASSWORD).exec(args);
  }

  static String localhost() {
    return "https://localhost:" + node.port();
  }

  @Test
  void cacertWithTheNodesCertificateIsAccepted() {
    Run run = vigil(localhost(), "user", "list", "--cacert", caCert.toString());

    assertThat(run.err).isEmpty();
    assertThat(run.exit).isZero();
    assertThat(run.out).contains("admin");
  }

  @Test
  void cacertFromTheEnvironmentIsAccepted() {
    Run run =
        new Run()
            .env("VIGIL_SERVER", localhost())
            .env("VIGIL_PASSWORD", ADMIN_PASSWORD)
            .env("VIGIL_CACERT", caCert.toString())
            .exec("cluster", "status");

    assertThat(run.err).isEmpty();
    assertThat(run.exit).isZero();
  }

  @Test
  void selfSignedCertificateWithoutCacertFailsWithOneClearLine() {
    Run run = vigil(localhost(), "user", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.out).isEmpty();
    assertThat(run.err.lines())
        .singleElement()
        .asString()
        .startsWith("error: The certificate of " + localhost() + " (CN=vigil-node")
        .contains("is not trusted")
        .contains("--cacert FILE")
        .endsWith("(tls_untrusted)");
  }

  @Test
  void hostNameTheCertificateDoesNotListFailsWithOneClearLine() {
    Run run =
        vigil("https://127.0.0.1:" + node.port(), "user", "list", "--cacert", caCert.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines())
        .singleElement()
        .asString()
        .contains("is not issued for the host name \"127.0.0.1\" (it names localhost)")
        .endsWith("(tls_host_mismatch)");
  }

  @Test
  void aCacertFileWithoutCertificatesIsAUsageError() throws IOException {
    Path empty = dir.resolve("empty.pem");
    Files.writeString(empty, "not a certificate\n");

    Run run = vigil(localhost(), "user", "list", "--cacert", empty.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err).contains("--cacert " + empty).contains("(invalid_cacert)");
  }

  @Test
  void plainHttpToAnHttpsNodeSaysToUseHttps() {
    Run run = vigil("http://127.0.0.1:" + node.port(), "user", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines()).singleElement().asString().contains("https://");
  }
}
