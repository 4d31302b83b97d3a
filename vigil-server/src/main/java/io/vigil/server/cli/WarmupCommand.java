package io.vigil.server.cli;

import io.vigil.server.config.Settings;
import io.vigil.server.config.SettingsLoader;
import io.vigil.server.node.Node;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;

/**
 * {@code vigil warmup} (hidden): the training run for the launcher's start-up cache (AOT cache on
 * JDK 25+, AppCDS before). Starts a node on a temporary data directory, loopback and a free port,
 * with the embedded database and no environment, so it touches nothing of a real installation;
 * sends the requests every start and every CLI call makes; closes the node and deletes the
 * directory.
 *
 * <p>Response statuses are not checked: a service missing from this build must not stop the cache
 * from being made. A node that does not start fails the command, and the launcher then runs without
 * a cache.
 */
@Command(name = "warmup", hidden = true, description = "Train the start-up cache.")
final class WarmupCommand implements Callable<Integer> {

  static final List<String> PATHS =
      List.of(
          "/health/live",
          "/health/ready",
          "/idp/.well-known/openid-configuration",
          "/idp/.well-known/jwks.json",
          UserCommand.USERS,
          "/metrics");

  private final Terminal terminal;

  WarmupCommand(Terminal terminal) {
    this.terminal = terminal;
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("vigil-warmup");
    try {
      Settings settings =
          SettingsLoader.load(dir, Map.of(), new SettingsLoader.Overrides(dir, 0, "127.0.0.1"));
      settings.dataProtection.machineKeyFile = dir.resolve("machine.key").toString();
      try (Node node = StartupFailure.start(settings)) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (String path : PATHS) {
          HttpRequest request =
              HttpRequest.newBuilder(URI.create(node.url() + path))
                  .timeout(Duration.ofSeconds(10))
                  .build();
          http.send(request, HttpResponse.BodyHandlers.ofString());
        }
        // The table code is on every list command's path.
        new Table("A", "B").row("1", null).render();
      }
    } finally {
      deleteTree(dir);
    }
    terminal.out().println("warmup done");
    terminal.out().flush();
    return ExitCodes.OK;
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
