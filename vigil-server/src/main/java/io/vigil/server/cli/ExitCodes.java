package io.vigil.server.cli;

/**
 * The {@code vigil} command's exit codes. Scripts rely on them; docs/configuration.md lists them.
 */
public final class ExitCodes {
  /** The command did what was asked. */
  public static final int OK = 0;

  /** Anything else: the node could not start, the server failed, the node cannot be reached. */
  public static final int ERROR = 1;

  /** The command line is wrong (picocli's default for usage errors). */
  public static final int USAGE = 2;

  /** The node refused the credentials, or there were none to send. */
  public static final int AUTHENTICATION = 3;

  /** The named object does not exist. */
  public static final int NOT_FOUND = 4;

  /** The change conflicts with the current state (e.g. the user name is taken). */
  public static final int CONFLICT = 5;

  /**
   * Another instance of the command is running and holds its lock ({@code vigil configure}); the
   * message names its process id when known.
   */
  public static final int ALREADY_RUNNING = 6;

  /**
   * The management server cannot be reached: no connection, no answer in time, or its certificate
   * failed verification ({@code vigil configure}; the other commands say 1).
   */
  public static final int UNREACHABLE = 7;

  /**
   * The certificate cannot be used for the purpose: missing, no private key, expired or not yet
   * valid, or not usable by a TLS server ({@code vigil configure encryption}).
   */
  public static final int INVALID_CERTIFICATE = 8;

  private ExitCodes() {}
}
