package io.vigil.server.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A TCP proxy on 127.0.0.1 for tests that cut a node off from a server (usually its database): it
 * forwards every connection to a target, and on request freezes the traffic (a network partition:
 * the peers see silence, their connections stay open) or resets every connection.
 *
 * <p>{@link #freeze()} stops forwarding in both directions on every current and future connection.
 * Bytes already read from one side are held, not dropped, and delivered after {@link #unfreeze()},
 * so a frozen-then-unfrozen connection carries exactly what was sent. A connection accepted while
 * frozen is not connected to the target until unfrozen. Freezing does not stop the operating system
 * from accepting connections or buffering what peers send, as a real partition would: a peer's
 * writes succeed until its socket buffers fill, its reads wait.
 *
 * <p>{@link #cutAll()} closes every open connection with a reset (SO_LINGER 0), frozen or not; the
 * proxy keeps accepting new ones. {@link #close()} stops accepting and cuts all. Every method is
 * thread-safe; one blocking thread per direction per connection (virtual threads) does the work.
 */
public final class TcpProxy implements AutoCloseable {

  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition thawed = lock.newCondition();
  private boolean frozen;
  private volatile boolean closed;

  /** Starts a proxy on an ephemeral port of 127.0.0.1 forwarding to {@code host:port}. */
  public TcpProxy(String host, int port) {
    this.target = new InetSocketAddress(host, port);
    try {
      this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread.ofVirtual().name("tcp-proxy-accept-" + port()).start(this::acceptLoop);
  }

  /** The port the proxy listens on, on 127.0.0.1. */
  public int port() {
    return server.getLocalPort();
  }

  /** Stops forwarding on every connection, without closing any. */
  public void freeze() {
    lock.lock();
    try {
      frozen = true;
    } finally {
      lock.unlock();
    }
  }

  /** Resumes forwarding, delivering whatever was held while frozen. */
  public void unfreeze() {
    lock.lock();
    try {
      frozen = false;
      thawed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Resets every open connection now; new connections are still accepted. */
  public void cutAll() {
    for (Link link : links) {
      link.cut();
    }
  }

  /** Stops accepting and resets every open connection. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing a listening socket only fails when it is already closed
    }
    cutAll();
    // Wake threads waiting for a thaw so they see the proxy is closed and end.
    unfreeze();
  }

  /** Number of connections currently open through the proxy. */
  public int openConnections() {
    return links.size();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Link link = new Link(client);
      links.add(link);
      Thread.ofVirtual().name("tcp-proxy-link").start(link::open);
    }
  }

  /** Blocks while frozen; false when the link was cut or the proxy closed meanwhile. */
  private boolean awaitThaw(Link link) {
    lock.lock();
    try {
      while (frozen && !closed && !link.isCut()) {
        thawed.awaitUninterruptibly();
      }
      return !closed && !link.isCut();
    } finally {
      lock.unlock();
    }
  }

  /** One client connection and, once thawed, its upstream connection. */
  private final class Link {
    private final Socket client;
    private final Socket upstream = new Socket();
    private volatile boolean cut;
    private int directionsDone;

    Link(Socket client) {
      this.client = client;
    }

    boolean isCut() {
      return cut;
    }

    void open() {
      if (!awaitThaw(this)) {
        cut();
        return;
      }
      try {
        upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
      } catch (IOException e) {
        cut();
        return;
      }
      Thread.ofVirtual().name("tcp-proxy-up").start(() -> pump(client, upstream));
      Thread.ofVirtual().name("tcp-proxy-down").start(() -> pump(upstream, client));
    }

    private void pump(Socket from, Socket to) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          // The check sits between read and write so bytes read just before a freeze are held.
          if (!awaitThaw(this)) {
            return;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
        // Orderly end of one direction: pass the half-close on, keep the other direction open.
        to.shutdownOutput();
        directionDone();
      } catch (IOException e) {
        cut();
      }
    }

    private synchronized void directionDone() {
      if (++directionsDone == 2) {
        closeQuietly(client);
        closeQuietly(upstream);
        links.remove(this);
      }
    }

    /** Closes both sides with a reset. */
    void cut() {
      cut = true;
      links.remove(this);
      reset(client);
      reset(upstream);
      // Wake this link's pumps if they wait for a thaw.
      lock.lock();
      try {
        thawed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    private static void reset(Socket socket) {
      try {
        if (!socket.isClosed()) {
          socket.setSoLinger(true, 0);
        }
      } catch (IOException ignored) {
        // not connected yet or already closed: closing is all there is to do
      }
      closeQuietly(socket);
    }

    private static void closeQuietly(Socket socket) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
  }
}
