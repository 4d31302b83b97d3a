package io.vigil.server.protect;

/**
 * Protected data or a key of the ring cannot be used here. The message names the key, the
 * protector, the cause and what the operator can do.
 */
public class ProtectionException extends RuntimeException {
  public ProtectionException(String message) {
    super(message);
  }

  public ProtectionException(String message, Throwable cause) {
    super(message, cause);
  }
}
