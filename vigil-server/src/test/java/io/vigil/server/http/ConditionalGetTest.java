package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConditionalGetTest {

  static final String ETAG = "\"abc\"";

  @Test
  void ifNoneMatchComparesWeaklyAndTakesListsAndAStar() {
    assertThat(ConditionalGet.matches("\"abc\"", ETAG)).isTrue();
    assertThat(ConditionalGet.matches("W/\"abc\"", ETAG)).isTrue();
    assertThat(ConditionalGet.matches("\"x\", W/\"y\" ,\"abc\"", ETAG)).isTrue();
    assertThat(ConditionalGet.matches(" * ", ETAG)).isTrue();
    assertThat(ConditionalGet.matches("\"abc\"", "W/\"abc\"")).isTrue();
  }

  @Test
  void anythingElseMatchesNothing() {
    assertThat(ConditionalGet.matches(null, ETAG)).isFalse();
    assertThat(ConditionalGet.matches("", ETAG)).isFalse();
    assertThat(ConditionalGet.matches("abc", ETAG)).isFalse();
    assertThat(ConditionalGet.matches("\"abcd\"", ETAG)).isFalse();
    assertThat(ConditionalGet.matches("\"ab\"", ETAG)).isFalse();
    assertThat(ConditionalGet.matches("\"abc", ETAG)).isFalse();
    assertThat(ConditionalGet.matches("x, \"abc\"", ETAG)).as("unparsable list").isFalse();
    assertThat(ConditionalGet.matches("\"x\", *", ETAG)).isFalse();
  }

  @Test
  void theEtagOfABodyIsAHashOfItsBytesAndDiffersForOtherBytes() {
    String a = ConditionalGet.etagOf("{\"items\":[]}".getBytes(StandardCharsets.UTF_8));
    String b = ConditionalGet.etagOf("{\"items\":[1]}".getBytes(StandardCharsets.UTF_8));
    assertThat(a).matches("\"[A-Za-z0-9_-]{22}\"");
    assertThat(a)
        .isEqualTo(ConditionalGet.etagOf("{\"items\":[]}".getBytes(StandardCharsets.UTF_8)));
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void aRevisionThatDoesNotCoverTheAnswerGetsTheAnswersHashAfterItAndStillReadsAsTheRevision() {
    String hash = ConditionalGet.etagOf("{\"lastSeenAt\":null}".getBytes(StandardCharsets.UTF_8));
    String tag = ConditionalGet.withHash("\"12\"", hash);

    assertThat(tag).matches("\"12\\.[A-Za-z0-9_-]{22}\"");
    assertThat(Requests.etagValue(tag)).isEqualTo(12L);
    assertThat(Requests.etagValue("\"12\"")).isEqualTo(12L);
    assertThat(ConditionalGet.matches(tag, tag)).isTrue();
    assertThat(ConditionalGet.matches("\"12\"", tag)).as("the revision alone").isFalse();
  }

  @Test
  void anIfMatchWithAHashTheApiCannotHaveIssuedIsNotARevision() {
    assertThat(Requests.etagValue("\"12.\"")).isNull();
    assertThat(Requests.etagValue("\"12.abc\"")).isNull();
    assertThat(Requests.etagValue("\"12.AAAAAAAAAAAAAAAAAAAAAAA\"")).as("23 characters").isNull();
    assertThat(Requests.etagValue("\"12.AAAAAAAAAAAAAAAAAAAA+/\"")).as("not base64url").isNull();
    assertThat(Requests.etagValue("W/\"12.AAAAAAAAAAAAAAAAAAAAAA\"")).isNull();
    assertThat(Requests.etagValue("\"012.AAAAAAAAAAAAAAAAAAAAAA\"")).isNull();
    assertThat(Requests.etagValue("\"12.AAAAAAAAAAAAAAAAAAAAAA\"")).isEqualTo(12L);
  }
}
