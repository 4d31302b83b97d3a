package io.vigil.server.identity;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PasswordHasherTest {

  private final PasswordHasher hasher = new PasswordHasher(1_000);

  @Test
  void hashRecordsAlgorithmIterationsAndSaltAndVerifiesOnlyTheRightPassword() {
    String hash = hasher.hash("correct horse battery staple");
    assertThat(hash).startsWith("pbkdf2-sha256$1000$").doesNotContain("correct");
    assertThat(hash.split("\\$")).hasSize(4);
    assertThat(hasher.verify("correct horse battery staple", hash)).isTrue();
    assertThat(hasher.verify("correct horse battery stapl", hash)).isFalse();
    assertThat(hasher.hash("correct horse battery staple")).isNotEqualTo(hash);
  }

  @Test
  void hashesMadeWithAnotherIterationCountStillVerify() {
    String old = new PasswordHasher(500).hash("an older passphrase");
    assertThat(hasher.verify("an older passphrase", old)).isTrue();
  }

  @Test
  void unknownUserNeverVerifiesButStillCostsAHash() {
    assertThat(hasher.verify("anything at all", null)).isFalse();
    assertThat(hasher.verify("anything at all", "md5$garbage")).isFalse();
  }

  @Test
  void policyNeedsTwelveCharacters() {
    assertThat(PasswordHasher.policyViolation("elevenchars")).contains("at least 12");
    assertThat(PasswordHasher.policyViolation("twelve chars")).isNull();
    assertThat(PasswordHasher.policyViolation(null)).contains("required");
  }
}
