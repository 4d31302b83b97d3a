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

  private ExitCodes() {}
}
