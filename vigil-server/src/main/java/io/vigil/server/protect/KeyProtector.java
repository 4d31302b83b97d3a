package io.vigil.server.protect;

import java.util.UUID;

/**
 * Wraps and unwraps the bytes of a {@link KeyRing} data key, so that a key is never stored in the
 * clear. The machine protector ({@link MachineProtector}) binds keys to one machine's key file; a
 * certificate protector binds them to an X.509 certificate whose private key every node of a
 * cluster holds.
 *
 * <p>The key ring records {@link #id()} next to every wrapped key. A node can unwrap a key only
 * with a protector of the same id, which is how it tells "this key was wrapped somewhere else" (a
 * configuration problem it can name) from "this key was damaged".
 *
 * <p>Implementations are thread-safe and stateless apart from their key material.
 */
public interface KeyProtector {

  /**
   * A stable identifier derived from the protector's key material, such as {@code
   * machine:3f9a0c1e22b4d780} or {@code certificate:<sha-1 thumbprint>}. Two protectors with the
   * same id unwrap each other's keys; different ids never do.
   */
  String id();

  /** A readable description for error messages, such as the key file path or certificate. */
  String describe();

  /**
   * Wraps a data key. {@code keyId} is bound to the result, so a wrapped key copied onto another
   * key's row cannot be unwrapped there.
   */
  byte[] wrap(UUID keyId, byte[] key);

  /**
   * Unwraps what {@link #wrap} returned for the same {@code keyId}.
   *
   * @throws ProtectionException naming the key and this protector when the wrapped bytes were
   *     altered, belong to another key, or were wrapped by a different protector
   */
  byte[] unwrap(UUID keyId, byte[] wrapped);
}
