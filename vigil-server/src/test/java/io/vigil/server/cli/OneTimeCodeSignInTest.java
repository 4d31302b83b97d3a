package io.vigil.server.cli;

import static io.vigil.server.cli.AdminCommandsTest.form;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Commands signing in as a user with multi-factor sign-in: the one-time code. */
class OneTimeCodeSignInTest {

  private static final String MFA_REQUIRED =
      "{\"error\":\"invalid_grant\",\"error_description\":\"mfa_required: user 'admin' signs in"
          + " with a one-time code.\"}";

  private FakeNode node;

  @BeforeEach
  void start() throws Exception {
    node =
        new FakeNode()
            .signIn()
            .once("POST /idp/connect/token", 400, MFA_REQUIRED)
            .on("GET /api/v1/users", 200, "{\"items\":[],\"nextCursor\":null}");
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void theCodeComesFromVigilOtpWhenTheServerAsksForIt() {
    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .env("VIGIL_OTP", "123456")
            .exec("user", "list");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(node.requests).hasSize(3);
    assertThat(form(node.requests.get(0).body())).doesNotContainKey("totp");
    assertThat(form(node.requests.get(1).body()))
        .containsEntry("totp", "123456")
        .containsEntry("password", "s3cret");
    assertThat(node.requests.get(2).authorization()).isEqualTo("Bearer tok-123");
  }

  @Test
  void theCodeIsAskedForAtATerminal() {
    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .typing("654321")
            .exec("user", "list");

    assertThat(run.exit).as(run.err).isZero();
    assertThat(form(node.requests.get(1).body())).containsEntry("totp", "654321");
  }

  @Test
  void withoutVigilOtpOrATerminalTheCommandStopsWithAuthenticationFailure() {
    Run run =
        new Run()
            .env("VIGIL_SERVER", node.url())
            .env("VIGIL_PASSWORD", "s3cret")
            .exec("user", "list");

    assertThat(run.exit).isEqualTo(ExitCodes.AUTHENTICATION);
    assertThat(run.err).contains("VIGIL_OTP").contains("(mfa_required)");
    assertThat(node.requests).hasSize(1);
  }
}
