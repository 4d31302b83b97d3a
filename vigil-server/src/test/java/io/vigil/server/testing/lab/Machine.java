package io.vigil.server.testing.lab;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where a server of a test runs: a lab {@link Host} (a network namespace of its own) or a {@link
 * LoopbackMachine} (this machine's loopback interface, for tests whose other parts must stay in the
 * test JVM's network, such as TCP proxies in front of the server).
 */
public interface Machine {

  /** How clients address it: a lab host's name, or a loopback address. */
  String name();

  /** The IPv4 address a server here listens on. */
  String ip();

  /** Its own folder, world-readable so any account reaches in. */
  Path dir();

  /** The addresses (a CIDR) its clients connect from, for a server's access rules. */
  String clients();

  /**
   * The port a server that would listen on {@code standard} listens on here: the standard one on a
   * lab host, which has its addresses to itself; one of its own on the loopback, which it shares
   * with the rest of this machine.
   */
  int port(int standard);

  /**
   * Runs {@code command} here as {@code account} and waits for it.
   *
   * @throws LabException when it runs longer than {@code timeout} (it is then killed)
   */
  ExecResult runAs(LabAccount account, Duration timeout, List<String> command);

  /**
   * Starts {@code command} in the background here, as {@code account} (root when null), its output
   * appended to {@code logFile}.
   */
  HostProcess startAs(
      LabAccount account, List<String> command, Map<String, String> env, Path logFile);
}
