package io.vigil.server.testing.lab;

import java.util.List;

/**
 * How a command ended: its exit code and everything it wrote.
 *
 * @param command the command as run, for messages
 * @param exitCode the exit code; 0 is success
 * @param stdout standard output, UTF-8
 * @param stderr standard error, UTF-8
 */
public record ExecResult(List<String> command, int exitCode, String stdout, String stderr) {

  public ExecResult {
    command = List.copyOf(command);
  }

  public boolean ok() {
    return exitCode == 0;
  }

  /**
   * This result when the command succeeded.
   *
   * @throws LabException naming the command, its exit code and its output otherwise
   */
  public ExecResult orThrow() {
    if (!ok()) {
      throw new LabException(describe());
    }
    return this;
  }

  /** One readable paragraph: the command, the exit code and both outputs. */
  public String describe() {
    return String.join(" ", command)
        + " exited with "
        + exitCode
        + (stdout.isBlank() ? "" : "\nstdout: " + stdout.strip())
        + (stderr.isBlank() ? "" : "\nstderr: " + stderr.strip());
  }
}
