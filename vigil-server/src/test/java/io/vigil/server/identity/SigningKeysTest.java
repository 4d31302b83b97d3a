package io.vigil.server.identity;

import static io.vigil.server.identity.IdpFixture.ADMIN_PASSWORD;
import static io.vigil.server.identity.IdpFixture.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jwt.SignedJWT;
import io.vigil.server.security.Principal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SigningKeysTest {

  @Test
  void afterTheRotationPeriodJwksHasTwoKeysAndOldTokensStillVerify() throws Exception {
    try (IdpFixture f = new IdpFixture(ADMIN_PASSWORD)) {
      String firstKid =
          read(f.get("/idp/.well-known/jwks.json", null)).get("keys").get(0).get("kid").asText();
      f.clock.advance(Duration.ofDays(30).minusMinutes(1));
      String token = f.adminToken();
      assertThat(SignedJWT.parse(token).getHeader().getKeyID()).isEqualTo(firstKid);

      f.clock.advance(Duration.ofMinutes(2));
      JsonNode keys = read(f.get("/idp/.well-known/jwks.json", null)).get("keys");
      assertThat(keys).hasSize(2);
      assertThat(keys.get(1).get("kid").asText()).isEqualTo(firstKid);
      String newKid = keys.get(0).get("kid").asText();
      assertThat(newKid).isNotEqualTo(firstKid);

      assertThat(f.get("/api/v1/users", token).statusCode()).isEqualTo(200);
      String fresh = f.adminToken();
      assertThat(SignedJWT.parse(fresh).getHeader().getKeyID()).isEqualTo(newKid);
      long retired =
          f.db
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery(
                              "SELECT COUNT(*) FROM identity_signing_keys WHERE retired_at IS NOT"
                                  + " NULL")
                          .mapTo(Long.class)
                          .one());
      assertThat(retired).isEqualTo(1);

      // One more rotation pushes the first key out: its tokens are long expired by then.
      f.clock.advance(Duration.ofDays(30));
      JsonNode later = read(f.get("/idp/.well-known/jwks.json", null)).get("keys");
      assertThat(later).hasSize(2);
      assertThat(later.findValuesAsText("kid")).doesNotContain(firstKid).contains(newKid);
    }
  }

  @Test
  void keysSurviveARestartSoEarlierTokensStayValid() throws Exception {
    try (IdpFixture f = new IdpFixture(ADMIN_PASSWORD)) {
      String token = f.adminToken();
      IdentityProvider restarted = f.newProvider(null);
      restarted.start();
      Principal p = restarted.authenticator().authenticate(token);
      assertThat(p.name()).isEqualTo("admin");
      assertThat(f.count("identity_signing_keys")).isEqualTo(1);
      assertThat(f.count("users")).isEqualTo(1);
      assertThat(f.out.toString(StandardCharsets.UTF_8)).isEmpty();
    }
  }

  @Test
  void restartOnANewAddressMovesTheConsoleRedirect() throws Exception {
    try (IdpFixture f = new IdpFixture(ADMIN_PASSWORD)) {
      f.settings.node.advertisedUrl = "https://cluster.example";
      f.newProvider(null).start();
      String uris =
          f.db
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery(
                              "SELECT redirect_uris FROM oauth_clients WHERE client_id ="
                                  + " 'vigil-console'")
                          .mapTo(String.class)
                          .one());
      assertThat(uris)
          .contains("https://cluster.example/console/callback")
          .doesNotContain("vigil.test");
      assertThat(f.count("users")).isEqualTo(1);
    }
  }

  @Test
  void twoNodesStartingAtOnceInstallOneKeyOneAdminAndWriteItsPasswordToOneOwnerOnlyFile()
      throws Exception {
    try (IdpFixture f = new IdpFixture(ADMIN_PASSWORD)) {
      f.db
          .jdbi()
          .useHandle(
              h -> {
                h.execute("DELETE FROM users");
                h.execute("DELETE FROM oauth_clients");
                h.execute(
                    "UPDATE identity_signing_state SET current_kid = NULL, previous_kid = NULL");
                h.execute("DELETE FROM identity_signing_keys");
              });
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Callable<IdentityProvider>> starts = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          starts.add(
              () -> {
                IdentityProvider p = f.newProvider(null);
                p.start();
                return p;
              });
        }
        List<IdentityProvider> started = new ArrayList<>();
        for (Future<IdentityProvider> result : pool.invokeAll(starts)) {
          started.add(result.get());
        }
        assertThat(f.count("identity_signing_keys")).isEqualTo(1);
        assertThat(f.count("users")).isEqualTo(1);
        assertThat(f.count("oauth_clients")).isEqualTo(2);
        // The password itself is printed nowhere: it is in an owner-only file, named once.
        Path file = IdentityProvider.generatedPasswordFile(f.settings.dataDir).toAbsolutePath();
        String printed = f.out.toString(StandardCharsets.UTF_8);
        assertThat(printed.split("Generated a password for user admin; it is in " + file, -1))
            .hasSize(2);
        assertThat(Files.getPosixFilePermissions(file))
            .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        String password = Files.readString(file).strip();
        assertThat(printed).doesNotContain(password);

        // Both instances sign with and accept the same key; the generated password works.
        f.http.close();
        f.idp = started.get(0);
        f.http = f.serve(started.get(0));
        String token = read(f.passwordGrant("admin", password, null)).get("access_token").asText();
        assertThat(started.get(1).authenticator().authenticate(token).name()).isEqualTo("admin");
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void tablesHoldNoPlaintextPasswordSecretTokenOrPrivateKey() throws Exception {
    try (IdpFixture f = new IdpFixture(ADMIN_PASSWORD)) {
      String admin = f.adminToken();
      String secret =
          read(f.json(
                  "POST",
                  "/api/v1/clients",
                  admin,
                  "{\"clientId\":\"gateway\",\"roles\":[\"component\"]}",
                  java.util.Map.of()))
              .get("clientSecret")
              .asText();
      String refresh =
          read(f.passwordGrant("admin", ADMIN_PASSWORD, null)).get("refresh_token").asText();
      byte[] stored =
          f.db
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery("SELECT private_jwk_protected FROM identity_signing_keys")
                          .mapTo(byte[].class)
                          .one());
      // The stored private key opens only through the protector, and then has a private part.
      String jwk =
          new String(f.protector.unprotect(SigningKeys.PURPOSE, stored), StandardCharsets.UTF_8);
      String d = com.nimbusds.jose.jwk.RSAKey.parse(jwk).getPrivateExponent().toString();

      String dump =
          dump(
              f,
              "users",
              "oauth_clients",
              "identity_signing_keys",
              "refresh_tokens",
              "authorization_codes",
              "audit_log");
      assertThat(dump).contains("pbkdf2-sha256$1000$");
      assertThat(dump).doesNotContain(ADMIN_PASSWORD, secret, refresh, d, "password_hash");
      assertThat(dump(f, "audit_log")).doesNotContain("pbkdf2", "clientSecret");
    }
  }

  /** Every column of every row, text as text and binary as Latin-1, so any plaintext shows. */
  private static String dump(IdpFixture f, String... tables) {
    StringBuilder all = new StringBuilder();
    for (String table : tables) {
      f.db
          .jdbi()
          .useHandle(
              h ->
                  h.createQuery("SELECT * FROM " + table)
                      .map(
                          (rs, c) -> {
                            StringBuilder row = new StringBuilder();
                            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                              Object v = rs.getObject(i);
                              row.append(
                                      v instanceof byte[] b
                                          ? new String(b, StandardCharsets.ISO_8859_1)
                                          : String.valueOf(v))
                                  .append('|');
                            }
                            return row.toString();
                          })
                      .forEach(all::append));
    }
    return all.toString();
  }
}
