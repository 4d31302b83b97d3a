package io.vigil.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native provider is installed where it loads, removed when turned off, and signs RS256. */
class NativeCryptoTest {

  @AfterEach
  void restoreTheDecisionOfThisTestRun() {
    NativeCrypto.configure(NativeCrypto.enabledIn(System.getenv()));
  }

  @Test
  void onlyLinuxOnX8664AndAarch64AreTried() {
    assertThat(NativeCrypto.supported("Linux", "amd64")).isTrue();
    assertThat(NativeCrypto.supported("Linux", "aarch64")).isTrue();
    assertThat(NativeCrypto.supported("Linux", "ppc64le")).isFalse();
    assertThat(NativeCrypto.supported("Windows Server 2022", "amd64")).isFalse();
    assertThat(NativeCrypto.supported("Mac OS X", "aarch64")).isFalse();
  }

  @Test
  void anInstallationKeepsOneBuildPerPlatformAndTheOneForThisArchitectureIsPicked(@TempDir Path lib)
      throws Exception {
    Path x86 = Files.createDirectories(lib.resolve("native/linux-x86_64")).resolve("accp-x86.jar");
    Path arm =
        Files.createDirectories(lib.resolve("native/linux-aarch_64")).resolve("accp-arm.jar");
    Files.write(x86, new byte[0]);
    Files.write(arm, new byte[0]);
    Files.writeString(lib.resolve("native/linux-x86_64/README"), "not a jar");

    assertThat(NativeCrypto.platformJar(lib, "amd64")).contains(x86);
    assertThat(NativeCrypto.platformJar(lib, "x86_64")).contains(x86);
    assertThat(NativeCrypto.platformJar(lib, "aarch64")).contains(arm);
    assertThat(NativeCrypto.platformJar(lib, "ppc64le")).isEmpty();
    assertThat(NativeCrypto.platformJar(lib.resolve("elsewhere"), "amd64")).isEmpty();
    assertThat(NativeCrypto.platformJar(null, "amd64")).isEmpty();
  }

  @Test
  void theEnvironmentTurnsItOffWithFalseOnly() {
    assertThat(NativeCrypto.enabledIn(Map.of())).isTrue();
    assertThat(NativeCrypto.enabledIn(Map.of(NativeCrypto.ENV, "true"))).isTrue();
    assertThat(NativeCrypto.enabledIn(Map.of(NativeCrypto.ENV, " FALSE "))).isFalse();
  }

  @Test
  void onLinuxX8664ItIsInstalledFirstAndSignsTokensTheJdkVerifies() throws Exception {
    assumeTrue(
        NativeCrypto.supported(System.getProperty("os.name"), System.getProperty("os.arch"))
            && System.getProperty("os.arch").equals("amd64"),
        "the native library ships for Linux x86-64 only");

    String line = NativeCrypto.configure(true);

    assertThat(line).isEqualTo("Crypto: Amazon Corretto Crypto Provider 2.5.0 (native)");
    assertThat(NativeCrypto.signing()).isPresent();
    assertThat(Security.getProviders()[0]).isSameAs(NativeCrypto.signing().orElseThrow());
    RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
    RSASSASigner signer = new RSASSASigner(key);
    signer.getJCAContext().setProvider(NativeCrypto.signing().orElseThrow());
    JWSObject jws = new JWSObject(new JWSHeader(JWSAlgorithm.RS256), new Payload("{\"a\":1}"));
    jws.sign(signer);
    RSASSAVerifier verifier = new RSASSAVerifier(key.toRSAPublicKey());
    verifier.getJCAContext().setProvider(Security.getProvider("SunRsaSign"));
    assertThat(JWSObject.parse(jws.serialize()).verify(verifier)).isTrue();
  }

  @Test
  void turnedOffItLeavesTheProviderListAndSigningToTheJdk() {
    String line = NativeCrypto.configure(false);

    assertThat(line).isEqualTo("Crypto: the JDK's providers");
    assertThat(NativeCrypto.signing()).isEmpty();
    assertThat(Security.getProvider("AmazonCorrettoCryptoProvider")).isNull();
  }
}
