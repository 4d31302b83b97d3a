package io.vigil.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vigil.server.cluster.ResourcePolicy;
import io.vigil.server.cluster.VirtualIp;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The client access point with a virtual IP, on a fake command runner; announcements run on the
 * caller's thread here, so the whole sequence is visible in order.
 */
class ClientAccessPointTest {

  /** Records commands by their verb and answers with scripted results, else success. */
  static final class Fake implements VirtualIp.Commands {
    final List<String> log = new ArrayList<>();
    final Deque<VirtualIp.Result> answers = new ArrayDeque<>();
    String addresses = "2: eth0    inet 192.0.2.10/32 scope global eth0\n";

    @Override
    public VirtualIp.Result run(List<String> command, long timeoutMillis) {
      String verb =
          command.getFirst().endsWith("arping")
              ? "announce"
              : command.contains("show") ? "show" : command.get(2);
      log.add(verb);
      if (verb.equals("show")) {
        return new VirtualIp.Result(0, addresses);
      }
      return answers.isEmpty() ? new VirtualIp.Result(0, "") : answers.poll();
    }
  }

  private final Fake fake = new Fake();
  private final List<Long> pauses = new ArrayList<>();
  private String live = null;
  private boolean owning = true;

  private BuiltinResources.ClientAccessPoint withVip(int announcements) {
    VirtualIp vip =
        new VirtualIp(
            new VirtualIp.Config("192.0.2.10", 32, "eth0", announcements, 200),
            fake,
            pauses::add,
            "ip",
            "arping");
    return new BuiltinResources.ClientAccessPoint(
        ResourcePolicy.DEFAULT, () -> live, vip, () -> owning, Runnable::run);
  }

  @Test
  void startAddsTheAddressThenAnnouncesItTheConfiguredNumberOfTimes() throws Exception {
    var cap = withVip(5);
    assertThat(cap.needsDeadMansSwitch()).isTrue();

    cap.start(7);

    assertThat(fake.log)
        .containsExactly("add", "announce", "announce", "announce", "announce", "announce");
    assertThat(pauses).containsExactly(200L, 200L, 200L, 200L);
  }

  @Test
  void checkAnnouncesAgainAndReaddsAnAddressSomethingTookOff() throws Exception {
    var cap = withVip(1);
    cap.start(1);
    fake.log.clear();

    assertThat(cap.check()).isNull();
    assertThat(fake.log).containsExactly("show", "announce");

    fake.log.clear();
    fake.addresses = "";
    assertThat(cap.check()).isNull();
    assertThat(fake.log).containsExactly("show", "add", "announce");
  }

  @Test
  void aNodePastItsDeadlineClaimsNothingItStillRemoves() throws Exception {
    var cap = withVip(3);
    owning = false;

    assertThatThrownBy(() -> cap.start(1)).hasMessageContaining("lease deadline passed");
    owning = true;
    cap.start(2);
    fake.log.clear();
    owning = false;
    fake.addresses = "";
    assertThat(cap.check()).isNull();
    cap.stop();

    assertThat(fake.log).containsExactly("del");
  }

  @Test
  void stopRemovesTheAddress() throws Exception {
    var cap = withVip(1);
    cap.start(1);
    fake.log.clear();

    cap.stop();

    assertThat(fake.log).containsExactly("del");
  }

  @Test
  void aFailedAddFailsTheStart() {
    var cap = withVip(5);
    fake.answers.add(new VirtualIp.Result(1, "Cannot find device \"eth0\""));

    assertThatThrownBy(() -> cap.start(1))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot add the virtual IP address 192.0.2.10/32 on eth0");
    assertThat(fake.log).containsExactly("add");
  }

  @Test
  void aFailedAnnouncementIsTheNextChecksProblemAndAFailedRemoveFailsTheStop() throws Exception {
    var cap = withVip(2);
    fake.answers.add(new VirtualIp.Result(0, ""));
    fake.answers.add(new VirtualIp.Result(2, "arping: bind: Cannot assign requested address"));
    cap.start(1);

    assertThat(cap.check()).contains("cannot announce").contains("Cannot assign requested");

    fake.answers.add(new VirtualIp.Result(1, "RTNETLINK answers: Operation not permitted"));
    assertThatThrownBy(cap::stop).hasMessageContaining("Operation not permitted");
    // The forced stop tries again and says stopped only once the address is gone.
    fake.addresses = "";
    assertThat(cap.forceStop()).isTrue();
    fake.addresses = "2: eth0    inet 192.0.2.10/32 scope global eth0\n";
    assertThat(cap.forceStop()).isFalse();
  }

  @Test
  void anUnhealthyHttpServerIsTheCheckProblemBeforeTheAddressIsLookedAt() throws Exception {
    var cap = withVip(1);
    cap.start(1);
    fake.log.clear();
    live = "the node's HTTP server is not listening yet";

    assertThat(cap.check()).isEqualTo(live);
    assertThat(fake.log).isEmpty();
  }

  @Test
  void withoutAVirtualIpNothingRunsAndNoSwitchIsNeeded() throws Exception {
    var cap = new BuiltinResources.ClientAccessPoint(ResourcePolicy.DEFAULT, () -> live);

    cap.start(1);
    assertThat(cap.check()).isNull();
    cap.stop();

    assertThat(cap.needsDeadMansSwitch()).isFalse();
    assertThat(cap.forceStop()).isTrue();
    assertThat(fake.log).isEmpty();
  }
}
