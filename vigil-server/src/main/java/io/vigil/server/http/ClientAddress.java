package io.vigil.server.http;

import io.javalin.http.Context;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Who sent a request, and whether they used HTTPS: the one place that decides it, for the login
 * throttle, HSTS and anything that builds a URL the client will follow.
 *
 * <p>When the direct peer is one of the {@link TrustedProxies}, the client comes from the
 * forwarding headers: {@code Forwarded} (RFC 7239) when present, else {@code X-Forwarded-For} with
 * {@code X-Forwarded-Proto}. The list is read from the right (the hop nearest to this node),
 * skipping addresses that are themselves trusted proxies, so a client cannot choose its address by
 * sending a forged header through the proxy: the first untrusted hop is the client. An entry that
 * is not an IP address ({@code unknown}, an obfuscated name) ends the walk at the last trusted hop.
 * From any other peer the headers are ignored and the peer is the client.
 *
 * @param address the client's IP address in {@link InetAddress#getHostAddress} form (or the peer's
 *     address as Jetty gave it when it is not an IP literal)
 * @param scheme {@code http} or {@code https}, as the client used it
 */
public record ClientAddress(String address, String scheme) {

  static final String ATTRIBUTE = "vigil.client";

  /**
   * The client of {@code ctx}, as {@link HttpServer} resolved it when the request arrived; the
   * direct peer for a context that did not pass through it.
   */
  public static ClientAddress of(Context ctx) {
    ClientAddress resolved = ctx.attribute(ATTRIBUTE);
    return resolved != null ? resolved : new ClientAddress(ctx.ip(), ctx.scheme());
  }

  /** Whether the client used HTTPS (to this node, or to the trusted proxy in front of it). */
  public boolean secure() {
    return "https".equals(scheme);
  }

  /** Resolves the client of a request from its direct peer and headers. */
  static ClientAddress resolve(TrustedProxies proxies, Context ctx) {
    return resolve(
        proxies,
        ctx.ip(),
        ctx.scheme(),
        joined(ctx, "Forwarded"),
        joined(ctx, "X-Forwarded-For"),
        joined(ctx, "X-Forwarded-Proto"));
  }

  /**
   * Resolves a client.
   *
   * @param peer the direct peer's address
   * @param directScheme the scheme of the connection to this node
   * @param forwarded every {@code Forwarded} header, joined with commas, or null
   * @param forwardedFor every {@code X-Forwarded-For} header, joined with commas, or null
   * @param forwardedProto every {@code X-Forwarded-Proto} header, joined with commas, or null
   */
  static ClientAddress resolve(
      TrustedProxies proxies,
      String peer,
      String directScheme,
      String forwarded,
      String forwardedFor,
      String forwardedProto) {
    Optional<InetAddress> peerAddress = TrustedProxies.literal(peer);
    ClientAddress direct =
        new ClientAddress(peerAddress.map(InetAddress::getHostAddress).orElse(peer), directScheme);
    if (proxies.isEmpty() || peerAddress.isEmpty() || !proxies.contains(peerAddress.get())) {
      return direct;
    }
    List<Hop> hops;
    if (forwarded != null && !forwarded.isBlank()) {
      hops = forwardedHops(forwarded);
    } else if (forwardedFor != null && !forwardedFor.isBlank()) {
      hops = forwardedForHops(forwardedFor, forwardedProto);
    } else {
      return direct;
    }
    ClientAddress last = direct;
    for (int i = hops.size() - 1; i >= 0; i--) {
      Hop hop = hops.get(i);
      Optional<InetAddress> address = TrustedProxies.literal(hop.node());
      if (address.isEmpty()) {
        return last;
      }
      ClientAddress here =
          new ClientAddress(address.get().getHostAddress(), scheme(hop.proto(), last.scheme()));
      if (i == 0 || !proxies.contains(address.get())) {
        return here;
      }
      last = here;
    }
    return last;
  }

  /** One hop of a forwarding header: the address it names and the scheme it was reached over. */
  private record Hop(String node, String proto) {}

  private static List<Hop> forwardedHops(String header) {
    List<Hop> hops = new ArrayList<>();
    for (String element : split(header, ',')) {
      String node = null;
      String proto = null;
      for (String pair : split(element, ';')) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          continue;
        }
        String name = pair.substring(0, eq).strip().toLowerCase(Locale.ROOT);
        String value = unquote(pair.substring(eq + 1).strip());
        if (name.equals("for")) {
          node = stripPort(value);
        } else if (name.equals("proto")) {
          proto = value;
        }
      }
      hops.add(new Hop(node, proto));
    }
    return hops;
  }

  private static List<Hop> forwardedForHops(String forwardedFor, String forwardedProto) {
    List<String> nodes = split(forwardedFor, ',');
    List<String> protos =
        forwardedProto == null || forwardedProto.isBlank() ? List.of() : split(forwardedProto, ',');
    List<Hop> hops = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      // A proxy chain usually sets X-Forwarded-Proto once, at the edge; when every hop added one,
      // each belongs to the address at the same position.
      String proto =
          protos.size() == nodes.size() ? protos.get(i) : protos.isEmpty() ? null : protos.get(0);
      hops.add(new Hop(stripPort(nodes.get(i).strip()), proto));
    }
    return hops;
  }

  private static String scheme(String proto, String fallback) {
    if (proto != null) {
      String p = proto.strip().toLowerCase(Locale.ROOT);
      if (p.equals("http") || p.equals("https")) {
        return p;
      }
    }
    return fallback;
  }

  /** {@code [v6]:port}, {@code [v6]} and {@code v4:port} to the address alone. */
  private static String stripPort(String node) {
    if (node == null) {
      return null;
    }
    if (node.startsWith("[")) {
      int end = node.indexOf(']');
      return end > 0 ? node.substring(0, end + 1) : node;
    }
    int colon = node.indexOf(':');
    if (colon > 0 && node.indexOf(':', colon + 1) < 0) {
      return node.substring(0, colon);
    }
    return node;
  }

  private static String unquote(String value) {
    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
      return value.substring(1, value.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
    return value;
  }

  /** Splits on {@code separator} outside double quotes; drops empty parts. */
  private static List<String> split(String text, char separator) {
    List<String> parts = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' && (i == 0 || text.charAt(i - 1) != '\\')) {
        quoted = !quoted;
      }
      if (c == separator && !quoted) {
        add(parts, current);
        current.setLength(0);
      } else {
        current.append(c);
      }
    }
    add(parts, current);
    return parts;
  }

  private static void add(List<String> parts, StringBuilder part) {
    String p = part.toString().strip();
    if (!p.isEmpty()) {
      parts.add(p);
    }
  }

  private static String joined(Context ctx, String header) {
    List<String> values = Collections.list(ctx.req().getHeaders(header));
    return values.isEmpty() ? null : String.join(",", values);
  }
}
