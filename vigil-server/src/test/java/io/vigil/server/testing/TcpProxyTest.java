package io.vigil.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpProxyTest {

  private EchoServer echo;
  private TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new EchoServer();
    proxy = new TcpProxy("127.0.0.1", echo.port());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  @Test
  void bytesFlowBothWays() throws IOException {
    try (Socket client = connect()) {
      send(client, "hello");
      assertThat(receive(client, 5)).isEqualTo("hello");
      send(client, "again");
      assertThat(receive(client, 5)).isEqualTo("again");
    }
  }

  @Test
  void frozenConnectionIsSilentThenDeliversWhatWasHeld() throws IOException {
    try (Socket client = connect()) {
      send(client, "ping");
      assertThat(receive(client, 4)).isEqualTo("ping");

      proxy.freeze();
      send(client, "held");
      client.setSoTimeout(300);
      assertThatThrownBy(() -> client.getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
      assertThat(client.isClosed()).isFalse();

      proxy.unfreeze();
      client.setSoTimeout(5_000);
      assertThat(receive(client, 4)).isEqualTo("held");
    }
  }

  @Test
  void connectionOpenedWhileFrozenReachesTheTargetOnlyWhenUnfrozen() throws Exception {
    proxy.freeze();
    try (Socket client = connect()) {
      send(client, "early");
      client.setSoTimeout(300);
      assertThatThrownBy(() -> client.getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
      assertThat(echo.accepted()).isZero();

      proxy.unfreeze();
      client.setSoTimeout(5_000);
      assertThat(receive(client, 5)).isEqualTo("early");
      assertThat(echo.accepted()).isEqualTo(1);
    }
  }

  @Test
  void cutAllResetsEveryConnectionFrozenOrNot() throws IOException {
    try (Socket first = connect();
        Socket second = connect()) {
      send(first, "a");
      assertThat(receive(first, 1)).isEqualTo("a");
      send(second, "b");
      assertThat(receive(second, 1)).isEqualTo("b");
      await().until(() -> proxy.openConnections() == 2);

      proxy.freeze();
      proxy.cutAll();

      assertEndedByPeer(first);
      assertEndedByPeer(second);
      await().until(() -> proxy.openConnections() == 0);
    }
    proxy.unfreeze();
    try (Socket later = connect()) {
      send(later, "c");
      assertThat(receive(later, 1)).isEqualTo("c");
    }
  }

  @Test
  void aClosedProxyForwardsNoNewConnection() throws IOException {
    int port = proxy.port();
    proxy.close();

    // The freed port may be refused, reused by another process at once, or (on Linux) reached by
    // a socket connected to itself; whichever, nothing reaches the upstream through the proxy.
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.getOutputStream().write('x');
    } catch (IOException expected) {
      // refused, or reset by whatever listens there now
    }
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(2))
        .until(() -> echo.accepted() == 0);
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    socket.setSoTimeout(5_000);
    return socket;
  }

  private static void send(Socket socket, String text) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(text.getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static String receive(Socket socket, int length) throws IOException {
    byte[] bytes = socket.getInputStream().readNBytes(length);
    return new String(bytes, StandardCharsets.US_ASCII);
  }

  /** The peer closed: a read sees either the end of the stream or a reset. */
  private static void assertEndedByPeer(Socket socket) {
    try {
      socket.setSoTimeout(2_000);
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("connection was not cut: the read timed out", e);
    } catch (SocketException e) {
      assertThat(e).hasMessageContaining("reset");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Echoes every byte back on every connection; counts the connections it accepted. */
  private static final class EchoServer implements AutoCloseable {
    private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final AtomicInteger accepted = new AtomicInteger();

    EchoServer() throws IOException {
      Thread.ofVirtual()
          .start(
              () -> {
                while (true) {
                  Socket socket;
                  try {
                    socket = server.accept();
                  } catch (IOException e) {
                    return;
                  }
                  accepted.incrementAndGet();
                  Thread.ofVirtual().start(() -> echo(socket));
                }
              });
    }

    private static void echo(Socket socket) {
      try (socket;
          InputStream in = socket.getInputStream();
          OutputStream out = socket.getOutputStream()) {
        in.transferTo(out);
      } catch (IOException ignored) {
        // the peer went away
      }
    }

    int port() {
      return server.getLocalPort();
    }

    int accepted() {
      return accepted.get();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }
}
