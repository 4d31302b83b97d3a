package io.vigil.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientAddressTest {

  static final TrustedProxies LB = TrustedProxies.parse(List.of("10.0.0.5", "192.168.0.0/16"));

  static ClientAddress resolve(
      TrustedProxies proxies, String peer, String forwarded, String xff, String xfp) {
    return ClientAddress.resolve(proxies, peer, "http", forwarded, xff, xfp);
  }

  @Test
  void withoutTrustedProxiesThePeerIsTheClientWhateverTheHeadersSay() {
    ClientAddress c =
        resolve(TrustedProxies.none(), "10.0.0.5", "for=1.2.3.4;proto=https", "1.2.3.4", "https");

    assertThat(c).isEqualTo(new ClientAddress("10.0.0.5", "http"));
  }

  @Test
  void headersFromAPeerThatIsNotListedAreIgnored() {
    ClientAddress c = resolve(LB, "10.0.0.6", null, "1.2.3.4", "https");

    assertThat(c).isEqualTo(new ClientAddress("10.0.0.6", "http"));
  }

  @Test
  void xForwardedForFromAListedProxyNamesTheClient() {
    ClientAddress c = resolve(LB, "10.0.0.5", null, "203.0.113.7", "https");

    assertThat(c).isEqualTo(new ClientAddress("203.0.113.7", "https"));
    assertThat(c.secure()).isTrue();
  }

  @Test
  void aForgedLeftmostEntryCannotChooseTheAddress() {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the real address.
    ClientAddress c = resolve(LB, "10.0.0.5", null, "6.6.6.6, 203.0.113.7", null);

    assertThat(c.address()).isEqualTo("203.0.113.7");
    assertThat(c.scheme()).isEqualTo("http");
  }

  @Test
  void chainedTrustedProxiesAreSkippedFromTheRight() {
    ClientAddress c = resolve(LB, "10.0.0.5", null, "203.0.113.7, 192.168.4.4", "https");

    assertThat(c.address()).isEqualTo("203.0.113.7");
  }

  @Test
  void whenEveryHopIsTrustedTheLeftmostIsTheClient() {
    ClientAddress c = resolve(LB, "10.0.0.5", null, "192.168.1.1, 192.168.4.4", null);

    assertThat(c.address()).isEqualTo("192.168.1.1");
  }

  @Test
  void forwardedHeaderWinsOverXForwardedForAndCarriesTheScheme() {
    ClientAddress c =
        resolve(
            LB,
            "10.0.0.5",
            "for=6.6.6.6;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.5",
            "9.9.9.9",
            "http");

    assertThat(c).isEqualTo(new ClientAddress("2001:db8:cafe:0:0:0:0:17", "https"));
  }

  @Test
  void forwardedNamesAreCaseInsensitiveAndPortsAreDropped() {
    ClientAddress c = resolve(LB, "10.0.0.5", "For=203.0.113.7:5555;Proto=HTTPS", null, null);

    assertThat(c).isEqualTo(new ClientAddress("203.0.113.7", "https"));
  }

  @Test
  void anUnknownHopEndsTheWalkAtTheLastTrustedHop() {
    ClientAddress c = resolve(LB, "10.0.0.5", "for=unknown, for=192.168.4.4", null, null);

    assertThat(c.address()).isEqualTo("192.168.4.4");
  }

  @Test
  void aTrustedPeerWithoutHeadersIsItself() {
    assertThat(resolve(LB, "10.0.0.5", null, null, null))
        .isEqualTo(new ClientAddress("10.0.0.5", "http"));
  }

  @Test
  void onlyHttpAndHttpsAreAcceptedAsSchemes() {
    assertThat(resolve(LB, "10.0.0.5", null, "203.0.113.7", "javascript").scheme())
        .isEqualTo("http");
  }

  @Test
  void perHopProtosBelongToTheirAddresses() {
    ClientAddress c = resolve(LB, "10.0.0.5", null, "203.0.113.7, 192.168.4.4", "https, http");

    assertThat(c).isEqualTo(new ClientAddress("203.0.113.7", "https"));
  }

  @Test
  void bracketedIpv6PeerIsMatchedAndCanonical() {
    TrustedProxies v6 = TrustedProxies.parse(List.of("fd00::/8"));

    assertThat(resolve(v6, "[fd00::1]", null, "203.0.113.7", null).address())
        .isEqualTo("203.0.113.7");
    assertThat(resolve(TrustedProxies.none(), "[::1]", null, null, null).address())
        .isEqualTo("0:0:0:0:0:0:0:1");
  }

  @Test
  void trustedProxiesMatchAddressesAndRanges() throws Exception {
    TrustedProxies p = TrustedProxies.parse(List.of("10.1.0.0/16", "2001:db8::/32", "172.16.0.9"));

    assertThat(p.contains(InetAddress.getByName("10.1.255.3"))).isTrue();
    assertThat(p.contains(InetAddress.getByName("10.2.0.1"))).isFalse();
    assertThat(p.contains(InetAddress.getByName("172.16.0.9"))).isTrue();
    assertThat(p.contains(InetAddress.getByName("172.16.0.10"))).isFalse();
    assertThat(p.contains(InetAddress.getByName("2001:db8:1::1"))).isTrue();
    assertThat(p.contains(InetAddress.getByName("2001:db9::1"))).isFalse();
    assertThat(p.contains(InetAddress.getByName("::ffff:10.1.0.1"))).isTrue();
    assertThat(
            TrustedProxies.parse(List.of("10.0.0.0/7")).contains(InetAddress.getByName("11.9.9.9")))
        .isTrue();
  }

  @Test
  void trustedProxiesRejectHostNamesAndBadRanges() {
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("lb.example.com")))
        .hasMessageContaining("\"lb.example.com\" is not an IP address or CIDR range");
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("10.0.0.0/33")))
        .hasMessageContaining("invalid prefix length: use /0 to /32");
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("300.1.1.1")))
        .hasMessageContaining("not an IP address");
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("abc:def:zz::1")))
        .hasMessageContaining("not an IP address");
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("abc:def")))
        .hasMessageContaining("not an IP address");
    assertThatThrownBy(() -> TrustedProxies.parse(List.of(" "))).hasMessageContaining("empty");
  }
}
