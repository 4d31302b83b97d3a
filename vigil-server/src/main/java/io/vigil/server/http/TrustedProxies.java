package io.vigil.server.http;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The proxies ({@code Http.TrustedProxies}) whose forwarding headers a node believes: IP addresses
 * ({@code 10.0.0.5}, {@code fd00::5}) and CIDR ranges ({@code 10.0.0.0/8}, {@code fd00::/64}).
 * Entries are IP literals only, never host names, so that parsing never waits for DNS and a changed
 * DNS record cannot make a stranger trusted. Immutable and thread-safe.
 */
public final class TrustedProxies {

  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: the array is a carrier
  private record Range(byte[] network, int prefix) {
    boolean contains(InetAddress address) {
      byte[] a = address.getAddress();
      if (a.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (a[full] & mask) == (network[full] & mask);
    }
  }

  private static final TrustedProxies NONE = new TrustedProxies(List.of());

  private final List<Range> ranges;

  private TrustedProxies(List<Range> ranges) {
    this.ranges = List.copyOf(ranges);
  }

  /** No trusted proxies: forwarding headers are always ignored. */
  public static TrustedProxies none() {
    return NONE;
  }

  /**
   * Parses the configured entries.
   *
   * @throws IllegalArgumentException naming the first entry that is not an IP address or CIDR range
   */
  public static TrustedProxies parse(List<String> entries) {
    List<Range> ranges = new ArrayList<>();
    for (String entry : entries) {
      if (entry == null || entry.isBlank()) {
        throw new IllegalArgumentException("an entry is empty.");
      }
      String text = entry.strip();
      int slash = text.indexOf('/');
      String host = slash < 0 ? text : text.substring(0, slash);
      InetAddress address =
          literal(host)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "\""
                              + text
                              + "\" is not an IP address or CIDR range (host names are not"
                              + " accepted)."));
      int bits = address.getAddress().length * 8;
      int prefix = bits;
      if (slash >= 0) {
        try {
          prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
          prefix = -1;
        }
        if (prefix < 0 || prefix > bits) {
          throw new IllegalArgumentException(
              "\"" + text + "\" has an invalid prefix length: use /0 to /" + bits + ".");
        }
      }
      ranges.add(new Range(address.getAddress(), prefix));
    }
    return ranges.isEmpty() ? NONE : new TrustedProxies(ranges);
  }

  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  /** Whether {@code address} is one of the trusted proxies. */
  public boolean contains(InetAddress address) {
    for (Range r : ranges) {
      if (r.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The address an IP literal names, without any DNS lookup: dotted IPv4, or IPv6 with or without
   * brackets. IPv4-mapped IPv6 addresses ({@code ::ffff:10.0.0.5}) become IPv4. Empty for anything
   * else, such as a host name, {@code unknown} or an obfuscated identifier.
   */
  public static Optional<InetAddress> literal(String text) {
    if (text == null) {
      return Optional.empty();
    }
    String t = text.strip();
    if (t.startsWith("[") && t.endsWith("]")) {
      t = t.substring(1, t.length() - 1);
    }
    int zone = t.indexOf('%');
    if (zone >= 0) {
      t = t.substring(0, zone);
    }
    boolean v4 = IPV4.matcher(t).matches();
    if (v4) {
      for (String part : t.split("\\.")) {
        if (Integer.parseInt(part) > 255) {
          return Optional.empty();
        }
      }
    } else if (!IPV6.matcher(t).matches()) {
      return Optional.empty();
    }
    try {
      // Only literals reach this point; the brackets make InetAddress reject an invalid IPv6
      // literal instead of looking it up as a host name.
      InetAddress address = InetAddress.getByName(v4 ? t : "[" + t + "]");
      if (v4 && !(address instanceof Inet4Address)) {
        return Optional.empty();
      }
      return Optional.of(address);
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }
}
