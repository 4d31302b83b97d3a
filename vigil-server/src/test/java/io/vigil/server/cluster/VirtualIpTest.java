package io.vigil.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The commands a virtual IP runs, in order, against a fake runner: no network is touched. */
class VirtualIpTest {

  static final VirtualIp.Config CONFIG = new VirtualIp.Config("192.0.2.10", 24, "eth0", 5, 200);

  /** Records every command (and every pause) and answers with scripted results, else success. */
  static final class FakeCommands implements VirtualIp.Commands, VirtualIp.Pause {
    final List<String> log = new ArrayList<>();
    final Deque<VirtualIp.Result> answers = new ArrayDeque<>();

    FakeCommands answer(int exit, String output) {
      answers.add(new VirtualIp.Result(exit, output));
      return this;
    }

    @Override
    public VirtualIp.Result run(List<String> command, long timeoutMillis) {
      log.add(String.join(" ", command) + " [" + timeoutMillis + " ms]");
      return answers.isEmpty() ? new VirtualIp.Result(0, "") : answers.poll();
    }

    @Override
    public void sleep(long millis) {
      log.add("pause " + millis);
    }
  }

  private final FakeCommands fake = new FakeCommands();

  private VirtualIp vip(VirtualIp.Config config) {
    return new VirtualIp(config, fake, fake, "/sbin/ip", "/usr/sbin/arping");
  }

  @Test
  void addPutsTheAddressWithItsPrefixOnTheInterface() throws Exception {
    vip(CONFIG).add();

    assertThat(fake.log).containsExactly("/sbin/ip addr add 192.0.2.10/24 dev eth0 [5000 ms]");
  }

  @Test
  void anAddressAlreadyThereCountsAsAdded() throws Exception {
    fake.answer(2, "Error: ipv4: Address already assigned.\n");
    vip(CONFIG).add();
    fake.answer(2, "RTNETLINK answers: File exists\n");
    vip(CONFIG).add();

    assertThat(fake.log).hasSize(2);
  }

  @Test
  void anAddFailureNamesTheAddressTheExitCodeAndTheOutput() {
    fake.answer(1, "Cannot find device \"eth0\"\n");

    assertThatThrownBy(() -> vip(CONFIG).add())
        .isInstanceOf(IOException.class)
        .hasMessage(
            "cannot add the virtual IP address 192.0.2.10/24 on eth0 (exit code 1): Cannot find"
                + " device \"eth0\"");
  }

  @Test
  void announceSendsTheConfiguredNumberOfGratuitousArpsTheIntervalApart() throws Exception {
    // arping waits for replies after sending: it is ended at the interval, which is no failure.
    fake.answer(VirtualIp.Result.TIMED_OUT, "").answer(0, "");
    vip(CONFIG).announce();

    String arping = "/usr/sbin/arping -q -U -c 1 -I eth0 192.0.2.10 [200 ms]";
    assertThat(fake.log)
        .containsExactly(
            arping,
            "pause 200",
            arping,
            "pause 200",
            arping,
            "pause 200",
            arping,
            "pause 200",
            arping);
  }

  @Test
  void noAnnouncementsConfiguredSendsNone() throws Exception {
    vip(new VirtualIp.Config("192.0.2.10", 32, "eth0", 0, 200)).announce();

    assertThat(fake.log).isEmpty();
  }

  @Test
  void aFailedAnnouncementStopsTheRoundWithItsOutput() {
    fake.answer(0, "").answer(2, "arping: bind: Cannot assign requested address\n");

    assertThatThrownBy(() -> vip(CONFIG).announce())
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot announce the virtual IP address 192.0.2.10/24 on eth0")
        .hasMessageContaining("bind: Cannot assign requested address");
    assertThat(fake.log).hasSize(3);
  }

  @Test
  void removeTakesTheAddressOffAndAnAddressNotThereCountsAsRemoved() throws Exception {
    vip(CONFIG).remove();
    fake.answer(2, "Error: ipv4: Address not found.\n");
    vip(CONFIG).remove();
    fake.answer(2, "RTNETLINK answers: Cannot assign requested address\n");
    vip(CONFIG).remove();

    assertThat(fake.log)
        .containsOnly("/sbin/ip addr del 192.0.2.10/24 dev eth0 [5000 ms]")
        .hasSize(3);
  }

  @Test
  void aRemoveFailureIsAnError() {
    fake.answer(VirtualIp.Result.TIMED_OUT, "");

    assertThatThrownBy(() -> vip(CONFIG).remove())
        .isInstanceOf(IOException.class)
        .hasMessage("cannot remove the virtual IP address 192.0.2.10/24 on eth0 (timed out)");
  }

  @Test
  void presentReadsTheInterfacesAddressesForTheExactAddressAndPrefix() throws Exception {
    String line =
        "2: eth0    inet 192.0.2.5/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever"
            + " preferred_lft forever\n";
    String vipLine =
        "2: eth0    inet 192.0.2.10/24 scope global secondary eth0\\       valid_lft\n";
    fake.answer(0, line + vipLine);
    assertThat(vip(CONFIG).present()).isTrue();
    fake.answer(0, line);
    assertThat(vip(CONFIG).present()).isFalse();
    // The same address with another prefix is not this configuration's.
    fake.answer(0, line + vipLine.replace("/24", "/32"));
    assertThat(vip(CONFIG).present()).isFalse();

    assertThat(fake.log.getFirst()).isEqualTo("/sbin/ip -o -4 addr show dev eth0 [5000 ms]");
    fake.answer(1, "Device \"eth0\" does not exist.\n");
    assertThatThrownBy(() -> vip(CONFIG).present())
        .hasMessageContaining("cannot look for the virtual IP address")
        .hasMessageContaining("does not exist");
  }

  @Test
  void startUpChecksNameTheSettingThatIsWrong() {
    assertThat(VirtualIp.problem(CONFIG, true, true, true)).isNull();
    assertThat(VirtualIp.problem(CONFIG, false, true, true))
        .startsWith(
            "Cluster.VirtualIp.Address is set, but a virtual IP address is managed on Linux");
    assertThat(VirtualIp.problem(config("vip.example", 32, "eth0", 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Address \"vip.example\" is not an IPv4 address");
    assertThat(VirtualIp.problem(config("2001:db8::10", 32, "eth0", 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Address \"2001:db8::10\" is not an IPv4 address");
    assertThat(VirtualIp.problem(config("192.0.2.300", 32, "eth0", 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Address \"192.0.2.300\"");
    assertThat(VirtualIp.problem(config("192.0.2.10", 33, "eth0", 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Prefix 33 is out of range");
    assertThat(VirtualIp.problem(config("192.0.2.10", 32, null, 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Interface is not set");
    assertThat(VirtualIp.problem(config("192.0.2.10", 32, "eth0 up", 5, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Interface \"eth0 up\" is not an interface name");
    assertThat(VirtualIp.problem(config("192.0.2.10", 32, "eth0", -1, 200), true, true, true))
        .startsWith("Cluster.VirtualIp.Announcements -1 is out of range");
    assertThat(VirtualIp.problem(config("192.0.2.10", 32, "eth0", 5, 0), true, true, true))
        .startsWith("Cluster.VirtualIp.AnnounceIntervalMillis 0 is out of range");
    assertThat(VirtualIp.problem(CONFIG, true, false, true)).contains("ip command");
    assertThat(VirtualIp.problem(CONFIG, true, true, false))
        .startsWith("Cluster.VirtualIp.Announcements is 5, but arping is not installed");
    assertThat(VirtualIp.problem(config("192.0.2.10", 32, "eth0", 0, 200), true, true, false))
        .isNull();
  }

  private static VirtualIp.Config config(
      String address, int prefix, String iface, int announcements, long interval) {
    return new VirtualIp.Config(address, prefix, iface, announcements, interval);
  }
}
