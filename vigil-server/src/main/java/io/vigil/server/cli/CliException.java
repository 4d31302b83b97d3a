package io.vigil.server.cli;

/**
 * A failure the command reports as one line, {@code error: <message> (<code>)}, on stderr before
 * exiting with {@link #exitCode()}. No stack trace: the message names the object, the cause and the
 * fix.
 */
final class CliException extends RuntimeException {

  private final int exitCode;
  private final String code;

  CliException(int exitCode, String code, String message) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }

  int exitCode() {
    return exitCode;
  }

  /** A stable machine-readable code, from the server when it sent one; may be null. */
  String code() {
    return code;
  }

  /** The line printed on stderr. */
  String line() {
    return "error: " + getMessage() + (code == null ? "" : " (" + code + ")");
  }

  static CliException usage(String code, String message) {
    return new CliException(ExitCodes.USAGE, code, message);
  }
}
