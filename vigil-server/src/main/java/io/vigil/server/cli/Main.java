package io.vigil.server.cli;

import io.vigil.server.config.SettingsLoader;
import io.vigil.server.node.Node;
import java.nio.file.Path;

/** Entry point of the {@code vigil} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    var settings =
        SettingsLoader.load(Path.of("data"), System.getenv(), SettingsLoader.Overrides.none());
    Node node = Node.start(settings);
    Runtime.getRuntime().addShutdownHook(new Thread(node::close));
    node.awaitStop();
  }
}
