package io.vigil.server.testing.lab;

/** A lab could not be built, changed or torn down; the message names the command and its output. */
public final class LabException extends RuntimeException {

  public LabException(String message) {
    super(message);
  }

  public LabException(String message, Throwable cause) {
    super(message, cause);
  }
}
