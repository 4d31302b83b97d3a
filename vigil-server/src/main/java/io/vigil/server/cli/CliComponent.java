package io.vigil.server.cli;

import java.net.URI;
import java.util.Optional;

/**
 * This machine's {@code vigil} command as a component: its management server address is the one
 * {@link CliSettings} stores, which the administrative commands use when neither {@code --server}
 * nor {@code VIGIL_SERVER} names a node. The server keeps no record of it, so it registers nothing.
 */
final class CliComponent implements InstalledComponent {

  private final CliSettings settings;

  CliComponent(CliSettings settings) {
    this.settings = settings;
  }

  @Override
  public String kind() {
    return "cli";
  }

  @Override
  public String location() {
    return settings.file().toString();
  }

  @Override
  public Optional<String> address() {
    return settings.server();
  }

  @Override
  public void setAddress(URI url) {
    settings.server(Credentials.key(url));
  }
}
