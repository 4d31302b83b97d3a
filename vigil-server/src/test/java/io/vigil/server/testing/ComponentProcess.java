package io.vigil.server.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real {@code vigil component run} process started from the built distribution, with its output
 * in a log file: for integration tests of the reference component.
 */
public final class ComponentProcess implements AutoCloseable {

  private final Process process;
  private final Path log;

  private ComponentProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts {@code vigil component run <args>} with {@code env} added to this JVM's. */
  public static ComponentProcess start(Path log, Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>();
    command.add(NodeProcess.launcher().toString());
    command.add("component");
    command.add("run");
    command.addAll(List.of(args));
    ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
    b.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    b.environment().putAll(env);
    b.environment().put("VIGIL_CACHE", "off");
    try {
      return new ComponentProcess(b.start(), log);
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + command, e);
    }
  }

  /** Every line the process printed so far. */
  public List<String> lines() {
    try {
      return Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits until {@code count} lines match, and returns the lines; fails with the output. */
  public List<String> awaitLines(Predicate<String> match, int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<String> found = lines().stream().filter(match).toList();
      if (found.size() >= count) {
        return found;
      }
      if (System.nanoTime() > deadline || !process.isAlive()) {
        throw new AssertionError(
            "waited "
                + timeout
                + " for "
                + count
                + " matching lines, found "
                + found.size()
                + (process.isAlive() ? "" : " (the process exited)")
                + "; output:\n"
                + String.join("\n", tail(lines(), 60)));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private static List<String> tail(List<String> lines, int n) {
    return lines.subList(Math.max(0, lines.size() - n), lines.size());
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, then waits up to 30 s for the exit; returns the exit code. */
  public int stop() {
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }

  /** The idempotency keys the component recorded as acknowledged ({@code --ack-log}), in order. */
  public static List<String> ackedKeys(Path acks) {
    try {
      if (!Files.exists(acks)) {
        return List.of();
      }
      List<String> keys = new ArrayList<>();
      for (String line : Files.readAllLines(acks)) {
        if (!line.isBlank()) {
          keys.add(line.substring(line.indexOf(' ') + 1));
        }
      }
      return keys;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many times each idempotency key is stored, over every page of GET /api/v1/events. */
  public static Map<String, Integer> storedKeys(TestHttp http, String token) {
    Map<String, Integer> counts = new java.util.HashMap<>();
    String cursor = null;
    do {
      com.fasterxml.jackson.databind.JsonNode page =
          http.get(
                  "/api/v1/events?limit=500"
                      + (cursor == null
                          ? ""
                          : "&cursor="
                              + java.net.URLEncoder.encode(cursor, StandardCharsets.UTF_8)),
                  token)
              .json();
      for (com.fasterxml.jackson.databind.JsonNode e : page.get("items")) {
        String key = e.path("idempotencyKey").asText(null);
        if (key != null) {
          counts.merge(key, 1, Integer::sum);
        }
      }
      cursor = page.path("nextCursor").isTextual() ? page.get("nextCursor").asText() : null;
    } while (cursor != null);
    return counts;
  }
}
