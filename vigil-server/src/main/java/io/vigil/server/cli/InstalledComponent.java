package io.vigil.server.cli;

import java.net.URI;
import java.util.Optional;

/**
 * A Vigil component installed on this machine that uses the management server's address: what
 * {@code vigil configure} shows, points at a new address and registers. This is where components
 * plug in: each kind reads and writes its own configuration, and registers itself through the
 * {@link ApiClient} the configurator signed in with. Today there are the node itself ({@link
 * NodeComponent}: its {@code appsettings.json}) and this machine's {@code vigil} command ({@link
 * CliComponent}: its stored server address); a component built on the SDK adds an implementation
 * that edits its own settings file and registers through the same API.
 */
interface InstalledComponent {

  /** The kind, e.g. {@code management-server} or {@code cli}. */
  String kind();

  /** Where its configuration lives (a file), for people and for the configurator's records. */
  String location();

  /** The management server address it uses now; empty when it has none of its own. */
  Optional<String> address();

  /**
   * Whether this is a management server node: then {@code configure register} makes its changes
   * inside the cluster's maintenance.
   */
  default boolean clusterNode() {
    return false;
  }

  /**
   * Writes {@code url} into its configuration; a component that is running picks it up as its
   * {@link #afterChange} says.
   */
  void setAddress(URI url);

  /**
   * Registers it with the management server at {@code url}. A component the server keeps no record
   * of (the {@code vigil} command) has nothing to register and keeps this default.
   */
  default void register(URI url, ApiClient api) {}

  /** What the operator does for the new address to take effect, or empty when nothing. */
  default Optional<String> afterChange() {
    return Optional.empty();
  }
}
