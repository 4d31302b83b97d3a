package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import io.vigil.server.testing.NodeProcess;
import io.vigil.server.testing.TestCertificates;
import io.vigil.server.testing.TestHttp;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The deployment the seed describes, on two machines of the lab: each node has its own machine key
 * file (its own home), HTTPS with its own certificate, and every request crosses the lab network by
 * host name, verified against the site's CA. With one data protection certificate on both, a kill
 * -9 failover needs no secret re-entered, neither a component's nor an external identity provider's
 * (a provider on a third machine, its HTTPS certificate from the site's CA, trusted through the
 * nodes' certificate stores); with the machine protector, {@code vigil cluster validate} names the
 * problem before any failover and the second node says why it cannot take the role.
 */
class LabCertificateClusterIT {

  private static final String ADMIN_PASSWORD = "lab-certificate-admin-password";

  @RegisterExtension final LabExtension lab = new LabExtension().withPostgres();

  private static final TestCertificates.Issued CA = TestCertificates.ca("Lab Site CA");
  private static final TestCertificates.Issued DATA_PROTECTION =
      TestCertificates.builder("lab-data-protection")
          .issuedBy(CA)
          .validUntil(Instant.now().plus(Duration.ofDays(365)))
          .build();

  private Path caFile;

  /** A node on {@code host} with HTTPS, and the cluster's data protection certificate if asked. */
  private LabNode node(LabPostgres db, String host, boolean certificateProtector)
      throws IOException {
    LabNode node = new LabNode(lab.get().host(host), db, ADMIN_PASSWORD);
    Path data = node.dataDir();
    TestCertificates.Issued tls =
        TestCertificates.builder(host).dnsNames(host).issuedBy(CA).build();
    TestCertificates.writePkcs12(TestCertificates.personal(data), "tls", tls, "tls-" + host);
    TestCertificates.writeTrusted(TestCertificates.trusted(data), "site-ca", CA.certificate());
    if (certificateProtector) {
      TestCertificates.writePkcs12(
          TestCertificates.personal(data), "data-protection", DATA_PROTECTION, "dp-" + host);
      Files.writeString(
          data.resolve("appsettings.json"),
          """
          {"DataProtectionSettings": {"ProtectKeysWithCertificate": {"Thumbprint": "%s"}}}
          """
              .formatted(DATA_PROTECTION.thumbprint()));
    }
    return node.https(tls.thumbprint().hex(), caFile());
  }

  private Path caFile() throws IOException {
    if (caFile == null) {
      caFile = lab.get().dir().resolve("site-ca.crt");
      Files.writeString(caFile, TestCertificates.pem(CA.certificate()));
    }
    return caFile;
  }

  @Test
  void oneCertificateOnTwoMachinesServesHttpsAndFailsOverWithNoSecretReentered() throws Exception {
    LabPostgres db = LabPostgres.start(lab.get().host("db"));
    Host client = lab.get().host("client");
    LabNode a = node(db, "node-a", true).start();
    LabNode b = node(db, "node-b", true).start();
    a.awaitReady(client, Duration.ofSeconds(120));
    b.awaitReady(client, Duration.ofSeconds(120));
    LabHttp http = new LabHttp(client, Duration.ofSeconds(3), caFile());
    List<LabNode> nodes = List.of(a, b);

    LabNode active = await(() -> activeOf(http, nodes), x -> x != null);
    LabNode standby = active == a ? b : a;
    TestHttp.Response discovery =
        http.get(active.url() + "/idp/.well-known/openid-configuration", null);
    assertThat(discovery.json().get("issuer").asText()).startsWith("https://");
    assertThat(discovery.header("Strict-Transport-Security")).contains("max-age=");

    String token = token(http, active);
    TestHttp.Response created =
        http.json(
            "POST",
            active.url() + "/api/v1/clients",
            token,
            "{\"clientId\":\"rs-lab\",\"roles\":[\"component\"]}");
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    String secret = created.json().get("clientSecret").asText();

    ExecResult validate = cli(client, active, "cluster", "validate");
    assertThat(validate.exitCode()).as(validate.describe()).isZero();
    assertThat(validate.stdout()).contains("Every live node can take the role.");

    active.kill9();
    await(() -> http.status(standby.url() + "/cluster/active"), s -> s == 200);
    TestHttp.Response servers =
        await(() -> http.get(standby.url() + "/api/v1/servers", token), r -> r.status() == 200);
    assertThat(servers.status()).isEqualTo(200);
    TestHttp.Response component =
        http.form(
            standby.url() + "/idp/connect/token",
            "grant_type=client_credentials&client_id=rs-lab&client_secret="
                + URLEncoder.encode(secret, StandardCharsets.UTF_8));
    assertThat(component.status()).as(component.body()).isEqualTo(200);
    // No machine key was involved: with the certificate protector none is even created.
    assertThat(a.machineKeyFile()).doesNotExist();
    assertThat(b.machineKeyFile()).doesNotExist();
  }

  @Test
  void machineKeysOnTwoMachinesAreNamedBeforeAnyFailover() throws Exception {
    LabPostgres db = LabPostgres.start(lab.get().host("db"));
    Host client = lab.get().host("client");
    LabNode a = node(db, "node-a", false).start();
    a.awaitReady(client, Duration.ofSeconds(120));
    LabNode b = node(db, "node-b", false).start();
    LabHttp http = new LabHttp(client, Duration.ofSeconds(3), caFile());

    TestHttp.Response ready =
        await(() -> http.get(b.url() + "/health/ready", null), r -> r.status() == 503);
    assertThat(ready.json().get("code").asText()).isEqualTo("not_eligible");
    assertThat(ready.json().get("reason").asText())
        .contains("wrapped by machine:")
        .contains("ProtectKeysWithCertificate.Thumbprint on every node");

    ExecResult validate = cli(client, a, "cluster", "validate");
    assertThat(validate.exitCode()).as(validate.describe()).isEqualTo(1);
    assertThat(validate.stdout())
        .contains("node-b")
        .contains("ineligible")
        .contains("Not every live node can take the role");
    assertThat(b.logText()).containsOnlyOnce("cannot unwrap 1 data protection key");
  }

  @Test
  void anExternalProviderConfiguredOnOneMachineSignsUsersInOnTheOtherAfterAKill9()
      throws Exception {
    LabPostgres db = LabPostgres.start(lab.get().host("db"));
    Host client = lab.get().host("client");
    LabOidcProvider corp =
        LabOidcProvider.start(
            lab.get().host("idp"),
            CA,
            caFile(),
            "corp",
            Map.of(
                "sub", "ines-at-corp",
                "preferred_username", "ines",
                "groups", List.of("vms-operators")),
            client);
    LabNode a = node(db, "node-a", true).start();
    LabNode b = node(db, "node-b", true).start();
    a.awaitReady(client, Duration.ofSeconds(120));
    b.awaitReady(client, Duration.ofSeconds(120));
    LabHttp http = new LabHttp(client, Duration.ofSeconds(5), caFile());
    List<LabNode> nodes = List.of(a, b);
    LabNode active = await(() -> activeOf(http, nodes), x -> x != null);
    LabNode standby = active == a ? b : a;

    // Configured once, on the active node: the client secret goes in through data protection.
    String admin = token(http, active);
    TestHttp.Response created =
        http.json(
            "POST",
            active.url() + "/api/v1/identity/providers",
            admin,
            "{\"name\":\"corp\",\"displayName\":\"Corp ID\",\"authority\":\""
                + corp.authority("corp")
                + "\",\"clientId\":\"vigil-at-corp\",\"clientSecret\":\""
                + CORP_SECRET
                + "\"}");
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    TestHttp.Response rule =
        http.json(
            "POST",
            active.url() + "/api/v1/identity/rules",
            admin,
            "{\"provider\":\"corp\",\"claim\":\"groups\",\"value\":\"vms-operators\","
                + "\"role\":\"operator\"}");
    assertThat(rule.status()).as(rule.body()).isEqualTo(201);
    String before = signInThroughProvider(http, active, active);
    assertThat(http.get(active.url() + "/api/v1/servers", before).status()).isEqualTo(200);

    active.kill9();
    await(() -> http.status(standby.url() + "/cluster/active"), s -> s == 200);

    // The token issued before the failover still works on the new active node.
    TestHttp.Response servers =
        await(() -> http.get(standby.url() + "/api/v1/servers", before), r -> r.status() == 200);
    assertThat(servers.status()).isEqualTo(200);
    // A new sign-in through the provider, on the other machine: it unwraps the client secret for
    // the code exchange with the one data protection certificate; nobody re-entered it.
    String after = signInThroughProvider(http, standby, standby);
    TestHttp.Response me = http.get(standby.url() + "/api/v1/servers", after);
    assertThat(me.status()).as(me.body()).isEqualTo(200);
    assertThat(standby.logText()).doesNotContain(CORP_SECRET);
  }

  // ---- helpers

  private static final String CONSOLE_REDIRECT = "http://127.0.0.1:53111/callback";
  private static final String CORP_SECRET = "corp-client-secret-5d1e9a";
  private static final Pattern PROVIDER_LINK =
      Pattern.compile("href=\"(external/[^\"]+)\">Sign in with Corp ID<");

  /**
   * The console's sign-in through the provider, as a browser on the client machine does it: the
   * sign-in page of {@code node}, "Sign in with Corp ID", the provider (which signs the user in at
   * once), the callback on {@code callback} (as the site's load balancer would route it), and the
   * console redeeming its code. Returns the access token.
   */
  private static String signInThroughProvider(LabHttp http, LabNode node, LabNode callback) {
    CodeVerifier verifier = new CodeVerifier();
    String query =
        "response_type=code&client_id=vigil-console&redirect_uri="
            + encode(CONSOLE_REDIRECT)
            + "&scope="
            + encode("openid vigil.api")
            + "&state=console-state&nonce=console-nonce&code_challenge_method=S256"
            + "&code_challenge="
            + CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue();
    TestHttp.Response page =
        await(
            () -> http.get(node.url() + "/idp/connect/authorize?" + query, null),
            r -> r.status() == 200);
    Matcher link = PROVIDER_LINK.matcher(page.body());
    assertThat(link.find()).as(page.body()).isTrue();
    TestHttp.Response start =
        http.get(node.url() + "/idp/connect/" + link.group(1).replace("&amp;", "&"), null);
    assertThat(start.status()).as(start.body()).isEqualTo(302);
    String atProvider = start.header("Location");
    assertThat(atProvider).startsWith("https://idp:");
    TestHttp.Response provider = http.get(atProvider, null);
    assertThat(provider.status()).as(provider.body()).isEqualTo(302);
    URI back = URI.create(provider.header("Location"));
    assertThat(back.getPath()).isEqualTo("/signin-oidc");
    TestHttp.Response done =
        http.get(callback.url() + back.getRawPath() + "?" + back.getRawQuery(), null);
    assertThat(done.status()).as(done.body()).isEqualTo(302);
    String console = done.header("Location");
    assertThat(console).startsWith(CONSOLE_REDIRECT + "?");
    Matcher code = Pattern.compile("[?&]code=([^&]+)").matcher(console);
    assertThat(code.find()).isTrue();
    TestHttp.Response tokens =
        http.form(
            node.url() + "/idp/connect/token",
            "grant_type=authorization_code&client_id=vigil-console&code="
                + code.group(1)
                + "&redirect_uri="
                + encode(CONSOLE_REDIRECT)
                + "&code_verifier="
                + verifier.getValue());
    assertThat(tokens.status()).as(tokens.body()).isEqualTo(200);
    return tokens.json().get("access_token").asText();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static LabNode activeOf(LabHttp http, List<LabNode> nodes) {
    List<LabNode> active = new ArrayList<>();
    for (LabNode n : nodes) {
      if (http.status(n.url() + "/cluster/active") == 200) {
        active.add(n);
      }
    }
    assertThat(active).hasSizeLessThan(2);
    return active.isEmpty() ? null : active.getFirst();
  }

  private static String token(LabHttp http, LabNode node) {
    String form =
        "grant_type=password&client_id=vigil-cli&username=admin&password="
            + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
            + "&scope="
            + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8);
    TestHttp.Response r =
        await(() -> http.form(node.url() + "/idp/connect/token", form), x -> x.status() == 200);
    return r.json().get("access_token").asText();
  }

  /** The {@code vigil} CLI run on the client machine against {@code node}, over verified HTTPS. */
  private ExecResult cli(Host client, LabNode node, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.addAll(
        List.of(
            "env",
            "VIGIL_PASSWORD=" + ADMIN_PASSWORD,
            "VIGIL_CACHE=off",
            NodeProcess.distribution()
                .toAbsolutePath()
                .resolve("bin")
                .resolve("vigil")
                .toString()));
    command.addAll(List.of(args));
    command.addAll(List.of("--server", node.url(), "--cacert", caFile().toString()));
    return client.run(Duration.ofSeconds(90), command);
  }

  private static <T> T await(Supplier<T> call, Predicate<T> done) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    T last = null;
    while (System.nanoTime() < deadline) {
      try {
        last = call.get();
        if (done.test(last)) {
          return last;
        }
      } catch (RuntimeException e) {
        // not answering yet
      }
      Commands.sleep(100);
    }
    throw new AssertionError("condition not met within 60 s; last: " + last);
  }
}
