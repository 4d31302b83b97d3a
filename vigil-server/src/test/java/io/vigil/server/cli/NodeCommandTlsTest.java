package io.vigil.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vigil.server.config.Settings;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestCertificates.Issued;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vigil node} is secure by default; {@code start-dev} stays plain HTTP on loopback. */
class NodeCommandTlsTest {

  @TempDir Path dir;

  @Test
  void nodeWithoutCertificateOrPlainHttpRefusesToStartNamingBothWaysOut() {
    Run run = new Run().exec("node", "--data-dir", dir.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines())
        .singleElement()
        .asString()
        .startsWith("error: vigil node serves HTTPS and no certificate is configured")
        .contains("Http.Tls.Thumbprint in " + dir.resolve("appsettings.json"))
        .contains("VIGIL_TLS_THUMBPRINT")
        .contains("Http.AllowPlainHttp")
        .contains("VIGIL_HTTP_ALLOW_PLAIN=true")
        .endsWith("(tls_required)");
    assertThat(Files.exists(dir.resolve("db"))).as("no database was opened").isFalse();
  }

  @Test
  void plainHttpSetToFalseIsStillRefused() throws Exception {
    Files.writeString(dir.resolve("appsettings.json"), "{\"Http\": {\"AllowPlainHttp\": false}}");

    Run run = new Run().exec("node", "--data-dir", dir.toString());

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err).contains("(tls_required)");
  }

  @Test
  void nodeWithAnExpiredCertificateStopsWithOneLineNamingIt() {
    Issued expired =
        TestCertificates.builder("expired.test")
            .validFrom(Instant.now().minus(Duration.ofDays(40)))
            .validUntil(Instant.now().minus(Duration.ofDays(10)))
            .build();
    TestCertificates.writePkcs12(TestCertificates.personal(dir), "old", expired, "pw");

    Run run =
        new Run()
            .env("VIGIL_TLS_THUMBPRINT", expired.thumbprint().toString())
            .env("VIGIL_HTTP_HOST", "127.0.0.1")
            .exec("node", "--data-dir", dir.toString(), "--http-port", "0");

    assertThat(run.exit).isEqualTo(ExitCodes.ERROR);
    assertThat(run.err.lines())
        .singleElement()
        .asString()
        .startsWith(
            "error: The HTTPS certificate CN=expired.test (thumbprint " + expired.thumbprint())
        .contains("expired on");
    assertThat(run.err).doesNotContain("\tat ");
    assertThat(Files.exists(dir.resolve("db"))).as("refused before the database").isFalse();
  }

  @Test
  void startDevServesPlainHttpWithoutBeingAsked() {
    Terminal terminal =
        new Terminal(Map.of("VIGIL_DATA_DIR", dir.toString()), null, null, null, null);

    Settings settings = new NodeCommand.StartDev(terminal).settings();

    assertThat(settings.http.allowPlainHttp).isTrue();
    assertThat(settings.http.tlsEnabled()).isFalse();
    assertThat(settings.http.host).isEqualTo("127.0.0.1");
    assertThat(settings.advertisedUrl()).startsWith("http://127.0.0.1:");
  }
}
