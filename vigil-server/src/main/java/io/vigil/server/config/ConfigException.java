package io.vigil.server.config;

/** A configuration the node cannot run with; the message names the setting and the fix. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
