package io.vigil.server.http;

import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.SelectorManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At most {@code Http.MaxConnectionsPerAddress} open connections from one client address: a new
 * connection beyond it is closed as soon as it is accepted, before it is read, so one client cannot
 * take the connections (or the memory) every other client needs. The address is the TCP peer;
 * trusted proxies are exempt, since every client behind one shares its address.
 *
 * <p>Called by the connector's acceptor and selector threads; the counts are exact under
 * concurrency (one atomic update per accept and per close).
 */
final class AddressConnectionLimit implements SelectorManager.AcceptListener {

  private static final Logger log = LoggerFactory.getLogger(AddressConnectionLimit.class);
  private static final long WARN_EVERY_NANOS = 60_000_000_000L;

  private final int limit;
  private final TrustedProxies exempt;
  private final Counter refused;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<SelectableChannel, InetAddress> counted =
      new ConcurrentHashMap<>();
  private final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);
  private final AtomicLong refusedSinceWarning = new AtomicLong();

  AddressConnectionLimit(int limit, TrustedProxies exempt, Counter refused) {
    this.limit = limit;
    this.exempt = exempt;
    this.refused = refused;
  }

  @Override
  public void onAccepting(SelectableChannel channel) {
    InetAddress address = peer(channel);
    if (address == null || exempt.contains(address)) {
      return;
    }
    boolean[] admitted = {false};
    open.compute(
        address,
        (a, n) -> {
          int now = n == null ? 0 : n;
          if (now >= limit) {
            return n;
          }
          admitted[0] = true;
          return now + 1;
        });
    if (admitted[0]) {
      counted.put(channel, address);
      return;
    }
    // Closed here, the channel fails to register with the selector, which Jetty treats as a
    // failed accept: no endpoint, no thread, nothing written.
    try {
      channel.close();
    } catch (IOException e) {
      // closed either way
    }
    refused.increment();
    warn(address);
  }

  @Override
  public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
    release(channel);
  }

  @Override
  public void onClosed(SelectableChannel channel) {
    release(channel);
  }

  private void release(SelectableChannel channel) {
    InetAddress address = counted.remove(channel);
    if (address != null) {
      open.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
    }
  }

  /** One warning a minute at most, with the count since the last, so an attack cannot fill logs. */
  private void warn(InetAddress address) {
    long count = refusedSinceWarning.incrementAndGet();
    long now = System.nanoTime();
    long last = lastWarning.get();
    if (now - last >= WARN_EVERY_NANOS && lastWarning.compareAndSet(last, now)) {
      refusedSinceWarning.addAndGet(-count);
      log.warn(
          "Refused {} connection(s) beyond Http.MaxConnectionsPerAddress ({}), the last from {};"
              + " raise the limit if a legitimate client needs more, or list a proxy in"
              + " Http.TrustedProxies.",
          count,
          limit,
          address.getHostAddress());
    }
  }

  private static InetAddress peer(SelectableChannel channel) {
    if (channel instanceof SocketChannel socket) {
      try {
        if (socket.getRemoteAddress() instanceof InetSocketAddress remote) {
          return remote.getAddress();
        }
      } catch (IOException e) {
        return null;
      }
    }
    return null;
  }
}
