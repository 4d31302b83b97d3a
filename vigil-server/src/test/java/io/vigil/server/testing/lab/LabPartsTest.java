package io.vigil.server.testing.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.testing.TestHttp;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** The parts of the lab that need no root: file texts, names and parsing. */
class LabPartsTest {

  @Test
  void hostsFileNamesLocalhostAndEveryHostOfTheLab() {
    Map<String, String> hosts = new LinkedHashMap<>();
    hosts.put("db", "10.201.7.10");
    hosts.put("node-a", "10.201.7.11");
    String text = Lab.hostsFile("vlababcd", hosts);
    assertThat(text.lines().filter(l -> !l.startsWith("#")).toList())
        .containsExactly(
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "10.201.7.10\tdb",
            "10.201.7.11\tnode-a");
  }

  @Test
  void namespacesOfALabAreRecognisedByTheirIdAndOthersAreNot() {
    Matcher m = Lab.NAMESPACE.matcher("vlab3k9x-node-a");
    assertThat(m.matches()).isTrue();
    assertThat(m.group(1)).isEqualTo("vlab3k9x");
    assertThat(Lab.NAMESPACE.matcher("vlab3k9x-switch").matches()).isTrue();
    assertThat(Lab.NAMESPACE.matcher("vlab-node-a").matches()).isFalse();
    assertThat(Lab.NAMESPACE.matcher("blue").matches()).isFalse();
    assertThat(Lab.NAMESPACE.matcher("vlabABCD-x").matches()).isFalse();
  }

  @Test
  void subnetsInUseAreReadFromAddressesRoutesAndLockFiles() {
    Set<String> used = new HashSet<>();
    Lab.collectSubnets(
        "2: eth0    inet 10.200.3.10/24 brd 10.200.3.255 scope global eth0\n"
            + "10.233.0.0/16 via 192.168.1.1 dev eth1\n"
            + "lab vlabx\n/tmp/vigil-lab-vlabx\n10.250.255.0/24\n"
            + "inet 192.168.10.20/24\n",
        used);
    assertThat(used).containsExactlyInAnyOrder("10.200.3", "10.233.0", "10.250.255");
  }

  @Test
  void aSubnetGivesHostAddressesAndItsCidr() {
    Lab.Subnet s = new Lab.Subnet(207, 42);
    assertThat(s.address(10)).isEqualTo("10.207.42.10");
    assertThat(s.cidr()).isEqualTo("10.207.42.0/24");
  }

  @Test
  void curlOutputIsSplitIntoStatusHeadersAndBody() {
    TestHttp.Response r =
        LabHttp.parse(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
                + "{\"ok\":true}\r\n\r\nHTTP/1.1 nothing");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Content-Type")).isEqualTo("application/json");
    assertThat(r.header("x-a")).isEqualTo("1,2");
    assertThat(r.body()).isEqualTo("{\"ok\":true}\r\n\r\nHTTP/1.1 nothing");
  }

  @Test
  void anInterimResponseBeforeTheAnswerIsSkipped() {
    TestHttp.Response r =
        LabHttp.parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\n\r\nbusy");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.body()).isEqualTo("busy");
  }

  @Test
  void anAnswerWithoutABodyHasAnEmptyBody() {
    TestHttp.Response r = LabHttp.parse("HTTP/1.1 204 No Content\r\nA: b\r\n\r\n");
    assertThat(r.status()).isEqualTo(204);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void outputThatIsNotHttpIsRefused() {
    assertThatThrownBy(() -> LabHttp.parse("curl: (7) Failed to connect"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not an HTTP response");
  }

  @Test
  void aFailedCommandDescribesItselfWithItsOutput() {
    ExecResult r = new ExecResult(List.of("ip", "netns", "add", "x"), 1, "", "File exists\n");
    assertThat(r.ok()).isFalse();
    assertThatThrownBy(r::orThrow)
        .isInstanceOf(LabException.class)
        .hasMessage("ip netns add x exited with 1\nstderr: File exists");
  }

  @Test
  void aLabThatCannotRunSkipsTheTestWithTheReasonAndFailsItOnCi() {
    LabExtension.requireAvailable(null);
    if ("true".equals(System.getenv("CI"))) {
      assertThatThrownBy(() -> LabExtension.requireAvailable("no root"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("CI=true")
          .hasMessageContaining("no root");
    } else {
      assertThatThrownBy(() -> LabExtension.requireAvailable("no root"))
          .isInstanceOf(TestAbortedException.class)
          .hasMessage("Lab tests skipped: no root");
    }
  }
}
